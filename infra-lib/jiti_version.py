"""jiti's version: the one place it is set. Both distributions (`jiti-pants`, `jiti-infra`) are
built with it (this file is also a BUILD-file prelude of this repository, so the BUILD files
read `JITI_VERSION`), and the plugin checks that the `jiti-infra` it synthesizes with is the same
version. Keep this file to plain assignments: a BUILD-file prelude cannot import."""

JITI_VERSION = "0.2.0"
# The environment variable in which the plugin tells the synthesis main its version.
JITI_PLUGIN_VERSION_ENV = "JITI_PLUGIN_VERSION"
