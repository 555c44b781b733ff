/* The version (the VERSION file) and the git revision, stamped by the Makefile (this object is rebuilt on every make). */
#include "core/core.h"

#ifndef SCNN_GIT_REV
#define SCNN_GIT_REV "unknown"
#endif

#ifndef SCNN_VERSION
#define SCNN_VERSION "unknown"
#endif

const char *scnn_git_rev(void) { return SCNN_GIT_REV; }
const char *scnn_version(void) { return SCNN_VERSION; }
