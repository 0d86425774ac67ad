/*
 * version.h
 *	  PARLEY_VERSION: parley's one version.  Its only source is
 *	  default_version in extension/parley.control; gateway/Makefile reads it
 *	  there and passes -DPARLEY_VERSION="x.y.z", and debian/rules checks that
 *	  debian/changelog names the same.  parleyd --version, the start-up
 *	  line, OpenAPI's info.version and the extension version PARLEY_MIGRATE
 *	  installs all say PARLEY_VERSION; test/tap/023_version.pl checks that
 *	  they agree.
 */
#ifndef PARLEY_VERSION_H
#define PARLEY_VERSION_H

#ifndef PARLEY_VERSION
#error "PARLEY_VERSION is not defined: build with gateway/Makefile, which reads it from extension/parley.control"
#endif

#endif							/* PARLEY_VERSION_H */
