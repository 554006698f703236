"""Building blocks over troposphere, each encoding the organisation's conventions once."""
