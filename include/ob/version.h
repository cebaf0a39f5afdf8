/* ob/version.h - the one place the version lives (debian/changelog follows it). */
#ifndef OB_VERSION_H
#define OB_VERSION_H

#define OB_VERSION "0.2.0"
#define OB_USER_AGENT "offsite-backup/" OB_VERSION

#endif
