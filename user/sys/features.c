// SPDX-License-Identifier: GPL-2.0-only
#include "features.h"

#include <linux/capability.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int features_check_privileges(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d)) {
		int err = -errno;

		at_err("cannot read capabilities: %s", strerror(-err));
		return err;
	}
	if (has_cap(d, CAP_SYS_ADMIN) ||
	    (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON) && has_cap(d, CAP_SYS_PTRACE)))
		return 0;
	at_err("needs root, or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE (to load BPF programs, "
	       "attach probes and read other processes' memory maps): run it with sudo");
	return -EPERM;
}

#define TRACEFS "/sys/kernel/tracing"

/* Syscall tracepoints are resolved through tracefs, which libbpf looks for under debugfs
 * first and then at /sys/kernel/tracing. */
static int check_tracefs(void)
{
	if (!access("/sys/kernel/debug/tracing/events/syscalls", F_OK) ||
	    !access(TRACEFS "/events/syscalls", F_OK))
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		at_err("tracefs is not mounted and mounting it at " TRACEFS " failed (%s): "
		       "run 'mount -t tracefs nodev " TRACEFS "'",
		       strerror(errno));
		return -EOPNOTSUPP;
	}
	if (access(TRACEFS "/events/syscalls", F_OK)) {
		at_err("syscall tracepoints are missing under " TRACEFS
		       "/events/syscalls: needs CONFIG_FTRACE_SYSCALLS=y");
		return -EOPNOTSUPP;
	}
	at_note(1, "mounted tracefs at " TRACEFS);
	return 0;
}

int features_check_kernel(void)
{
	int rc = check_tracefs();

	if (rc)
		return rc;
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		at_err("kernel BTF is missing (/sys/kernel/btf/vmlinux): needs a kernel built with "
		       "CONFIG_DEBUG_INFO_BTF=y (5.5 or later)");
		return -EOPNOTSUPP;
	}
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		at_err("the uprobe PMU is missing: needs a kernel with CONFIG_UPROBE_EVENTS=y");
		return -EOPNOTSUPP;
	}
	return 0;
}
