/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks before anything is loaded: privileges, tracefs (mounted here if it is not), BTF
 * and the uprobe PMU. Each failing check prints one line naming what is missing and how to
 * get it, and returns -EPERM (privileges), -EOPNOTSUPP (a kernel feature is missing),
 * another negative errno (the check itself failed), or 0 when all is well.
 */
#ifndef AT_FEATURES_H
#define AT_FEATURES_H

#include "common.h"

int features_check_privileges(void);
int features_check_kernel(void);

#endif
