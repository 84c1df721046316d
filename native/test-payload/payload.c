/*
 * payload: a tiny statically linked multi-call program for Lodge runtime tests.
 * It runs as PID 1 ("init", also when invoked as .../init without arguments) or
 * as an exec'd command inside unprivileged system containers, so runtime tests
 * need no distribution image. Most subcommands print one line of JSON on stdout;
 * see usage() for the list.   Build: gcc -static -O2 -Wall -o payload payload.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef KEXEC_FILE_NO_INITRAMFS
#define KEXEC_FILE_NO_INITRAMFS 0x4
#endif

extern char **environ;

/* ------------------------------------------------------------ errno names */
#define E(x) { x, #x }
static const struct { int num; const char *name; } errnames[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
	E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT),
	E(ENOTBLK), E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR),
	E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY), E(ETXTBSY), E(EFBIG), E(ENOSPC),
	E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(EDOM), E(ERANGE), E(EDEADLK),
	E(ENAMETOOLONG), E(ENOLCK), E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(ENOMSG),
	E(EIDRM), E(ENOSTR), E(ENODATA), E(ETIME), E(ENOSR), E(EREMOTE), E(ENOLINK),
	E(EPROTO), E(EBADMSG), E(EOVERFLOW), E(EBADFD), E(EILSEQ), E(EUSERS),
	E(ENOTSOCK), E(EDESTADDRREQ), E(EMSGSIZE), E(EPROTOTYPE), E(ENOPROTOOPT),
	E(EPROTONOSUPPORT), E(ESOCKTNOSUPPORT),
	E(ENOTSUP), /* == EOPNOTSUPP on Linux; the POSIX name is reported */
	E(EPFNOSUPPORT), E(EAFNOSUPPORT), E(EADDRINUSE), E(EADDRNOTAVAIL),
	E(ENETDOWN), E(ENETUNREACH), E(ENETRESET), E(ECONNABORTED), E(ECONNRESET),
	E(ENOBUFS), E(EISCONN), E(ENOTCONN), E(ESHUTDOWN), E(ETIMEDOUT),
	E(ECONNREFUSED), E(EHOSTDOWN), E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS),
	E(ESTALE), E(EDQUOT), E(ECANCELED), E(ENOKEY), E(EKEYEXPIRED),
	E(EKEYREVOKED), E(EKEYREJECTED), E(EOWNERDEAD), E(ENOTRECOVERABLE),
	E(ERFKILL), E(EHWPOISON),
};
#undef E

/* "" for 0, the symbolic name, or "E<number>". Async-signal-safe. */
static const char *errname(int e) {
	static char unknown[16];
	char tmp[12];
	size_t i, k = 0;
	if (e == 0) return "";
	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].num == e) return errnames[i].name;
	unknown[k++] = 'E';
	for (i = 0; e > 0 && i < sizeof(tmp); e /= 10) tmp[i++] = (char)('0' + e % 10);
	while (i) unknown[k++] = tmp[--i];
	unknown[k] = 0;
	return unknown;
}

/* ------------------------------------------------------------ output, JSON */
static void write_all(int fd, const char *s, size_t n) {
	ssize_t w;
	for (; n > 0; s += w, n -= (size_t)w)
		if ((w = write(fd, s, n)) <= 0) {
			if (w == 0 || errno != EINTR) return;
			w = 0;
		}
}

static void outs(int fd, const char *s) { write_all(fd, s, strlen(s)); }

/* A document is built in jb, then written as one line by jflush(). */
static char jb[1 << 18];
static size_t jl;
static int jdepth, jcount[32], jafterkey;

static void jput(const char *s, size_t n) {
	size_t room = jl < sizeof(jb) - 2 ? sizeof(jb) - 2 - jl : 0;
	if (n > room) n = room; /* truncate rather than overflow */
	memcpy(jb + jl, s, n);
	jl += n;
}
static void jc(char c) { jput(&c, 1); }

/* Comma before every element of an object/array except the first. */
static void jsep(void) {
	if (jafterkey) jafterkey = 0;
	else if (jdepth > 0 && jcount[jdepth]++ > 0) jc(',');
}

static void jescaped(const char *s) {
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char u[6] = { '\\', 'u', '0', '0', 0, 0 };
	jc('"');
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) { /* control characters as \u00XX */
			u[4] = hex[*p >> 4];
			u[5] = hex[*p & 15];
			jput(u, 6);
			continue;
		}
		if (*p == '"' || *p == '\\') jc('\\');
		jc((char)*p);
	}
	jc('"');
}

static void jopen(char c) { jsep(); jc(c); jcount[++jdepth] = 0; }
static void jclose(char c) { jc(c); jdepth--; }
static void jkey(const char *k) { jsep(); jescaped(k); jc(':'); jafterkey = 1; }
static void jstr(const char *s) { jsep(); jescaped(s ? s : ""); }
static void jnull(void) { jsep(); jput("null", 4); }
static void jbool(int b) { jsep(); jput(b ? "true" : "false", b ? 4 : 5); }
static void jnum(long long v) {
	char t[32];
	jsep(); jput(t, (size_t)snprintf(t, sizeof(t), "%lld", v));
}
static void jks(const char *k, const char *v) { jkey(k); jstr(v); }
static void jkn(const char *k, long long v) { jkey(k); jnum(v); }
static void jkb(const char *k, int v) { jkey(k); jbool(v); }
static void jkerr(int err) { jks("errno", errname(err)); }

/* Ends the document: close the outer object and write it as one line. */
static int jdone(int rc) {
	jclose('}');
	jb[jl++] = '\n';
	write_all(1, jb, jl);
	jl = 0, jdepth = jafterkey = 0;
	return rc;
}

/* Opens `"key":{"ok":bool,"errno":"NAME"`; the caller may add fields, then jclose('}'). */
static void jresult(const char *key, int ok, int err) {
	jkey(key); jopen('{'); jkb("ok", ok); jkerr(ok ? 0 : err);
}
/* The same, closed, for a system call result r (negative = failure, errno read here). */
static void jsys(const char *key, long r) { jresult(key, r >= 0, errno); jclose('}'); }

/* ------------------------------------------------------------ helpers */
static ssize_t read_file(const char *path, char *buf, size_t size) {
	size_t len = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	while (len + 1 < size &&
	       ((r = read(fd, buf + len, size - 1 - len)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0) len += (size_t)r;
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

static int write_file(const char *path, const char *data) {
	int e, fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w;
	if (fd < 0) return -1;
	w = write(fd, data, strlen(data));
	e = errno, close(fd), errno = e;
	return w < 0 ? -1 : 0;
}

/* Reads a file into buf and returns its first line (strtok_r style; "" if unreadable). */
static char *first_line(const char *path, char *buf, size_t size, char **save) {
	if (read_file(path, buf, size) < 0) buf[0] = 0;
	return strtok_r(buf, "\n", save);
}
#define for_lines(line, path, buf, save) \
	for (line = first_line(path, buf, sizeof(buf), &save); line; line = strtok_r(NULL, "\n", &save))

/* Non-empty lines of a file as a JSON array of strings, optionally whitespace-collapsed. */
static void jfile_lines(const char *key, const char *path, int normalise) {
	static char buf[1 << 16];
	char *line, *save, *r, *w;
	int sp;
	jkey(key); jopen('[');
	for_lines(line, path, buf, save) {
		for (r = w = line, sp = 0; normalise && *r; r++) {
			if (*r == ' ' || *r == '\t') { sp = 1; continue; }
			if (sp && w != line) *w++ = ' ';
			sp = 0;
			*w++ = *r;
		}
		if (normalise) *w = 0;
		if (*line) jstr(line);
	}
	jclose(']');
}

/* Value of a "Key:\tvalue" line of /proc/self/status, or NULL. */
static const char *status_field(const char *key) {
	static char buf[8192];
	char *line, *save;
	size_t kl = strlen(key);
	for_lines(line, "/proc/self/status", buf, save)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':')
			return line + kl + 1 + strspn(line + kl + 1, " \t");
	return NULL;
}

static void jgroups(void) {
	gid_t g[256];
	int i, n = getgroups(256, g);
	jkey("groups"); jopen('[');
	for (i = 0; i < n; i++) jnum(g[i]);
	jclose(']');
}

static int jifname(const char *name) { jstr(name); return strcmp(name, "lo") != 0; }

/* "key": array of interface names; returns how many of them are not "lo". */
static int jinterfaces(const char *key) {
	struct if_nameindex *ifs = if_nameindex(), *i;
	struct dirent *de;
	DIR *d;
	int others = 0;
	jkey(key); jopen('[');
	if (ifs) {
		for (i = ifs; i->if_index != 0 && i->if_name; i++) others += jifname(i->if_name);
		if_freenameindex(ifs);
	} else if ((d = opendir("/sys/class/net"))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.') others += jifname(de->d_name);
		closedir(d);
	}
	jclose(']');
	return others;
}

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void handle(int sig, void (*fn)(int)) {
	struct sigaction sa = { .sa_handler = fn };
	sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
	sigfillset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* ------------------------------------------------------------ init */
static void on_sigchld(int sig) {
	int saved = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) ;
	errno = saved;
}

static void do_reboot(int how, const char *msg) {
	outs(1, msg);
	/* Safety net: never reboot a host. A container's init is PID 1 of its pid ns. */
	if (getpid() != 1) outs(1, "payload-init: not pid 1, exiting instead\n");
	else if (reboot(how) < 0) /* in a child pid ns, reboot() does not return */
		outs(1, "payload-init: reboot failed: "), outs(1, errname(errno)), outs(1, "\n");
	_exit(0);
}

static void on_halt(int sig) { (void)sig; do_reboot(RB_POWER_OFF, "payload-init: halting\n"); }
static void on_reboot(int sig) { (void)sig; do_reboot(RB_AUTOBOOT, "payload-init: rebooting\n"); }

static int cmd_init(void) {
	char msg[64];
	handle(SIGCHLD, on_sigchld);
	handle(SIGUSR2, on_halt); handle(SIGPWR, on_halt); handle(SIGRTMIN + 3, on_halt);
	handle(SIGTERM, on_halt); handle(SIGUSR1, on_reboot);
	snprintf(msg, sizeof(msg), "payload-init: ready pid=%d\n", (int)getpid());
	outs(1, msg);
	for (;;) pause();
	return 0;
}

/* ------------------------------------------------------------ report */
static void jmounts(void) {
	static char buf[1 << 18];
	char *line, *save, *f;
	int k;
	jkey("mounts"); jopen('[');
	for_lines(line, "/proc/self/mountinfo", buf, save) {
		for (f = line, k = 0; f && k < 4; k++) /* id parent maj:min root MOUNTPOINT */
			if ((f = strchr(f, ' '))) f++;
		if (f) f[strcspn(f, " ")] = 0, jstr(f);
	}
	jclose(']');
}

static void jpids(void) {
	struct dirent *de;
	DIR *d = opendir("/proc");
	jkey("pids"); jopen('[');
	while (d && (de = readdir(d)))
		if (de->d_name[0] > '0' && de->d_name[0] <= '9' &&
		    de->d_name[strspn(de->d_name, "0123456789")] == 0)
			jnum(atoll(de->d_name));
	if (d) closedir(d);
	jclose(']');
}

static const char *fd_kind(int fd) {
	struct stat st;
	if (fstat(fd, &st) < 0) return "closed";
	switch (st.st_mode & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFIFO: return "pipe";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return isatty(fd) ? "tty" : "chr";
	case S_IFDIR: return "dir";
	case S_IFBLK: return "blk";
	default: return "other";
	}
}

static int cmd_report(void) {
	static const char *fields[][2] = {
		{ "cap_eff", "CapEff" }, { "cap_prm", "CapPrm" }, { "cap_bnd", "CapBnd" },
		{ "cap_amb", "CapAmb" }, { "seccomp", "Seccomp" }, { "no_new_privs", "NoNewPrivs" },
	};
	char host[256] = "", cwd[4096];
	struct stat st;
	const char *v;
	int i;
	gethostname(host, sizeof(host) - 1);
	jopen('{'); jks("hostname", host); jkn("pid", getpid()); jkn("ppid", getppid());
	jkn("uid", getuid()); jkn("gid", getgid()); jkn("euid", geteuid()); jkn("egid", getegid());
	jgroups();
	jfile_lines("uid_map", "/proc/self/uid_map", 1);
	jfile_lines("gid_map", "/proc/self/gid_map", 1);
	for (i = 0; i < 6; i++) { /* capability sets as hex strings, the last two as numbers */
		jkey(fields[i][0]);
		if (!(v = status_field(fields[i][1]))) jnull();
		else if (i < 4) jstr(v);
		else jnum(atoll(v));
	}
	jfile_lines("cgroup", "/proc/self/cgroup", 0);
	jmounts();
	jpids();
	jinterfaces("interfaces");
	jks("cwd", getcwd(cwd, sizeof(cwd)) ? cwd : "");
	jkey("root_owner"); jopen('{');
	if (stat("/", &st) == 0) { jkn("uid", st.st_uid); jkn("gid", st.st_gid); }
	jclose('}');
	jks("console", fd_kind(1));
	return jdone(0);
}

/* ------------------------------------------------------------ escape */
/* True in the initial user namespace (identity map of all ids). */
static int in_init_userns(void) {
	char buf[256];
	unsigned long a, b, c;
	return read_file("/proc/self/uid_map", buf, sizeof(buf)) > 0 &&
	       sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295UL;
}

static void esc_mount_block(void) {
	const char *dev = "/tmp/.payload-root-dev", *mnt = "/tmp/.payload-mnt", *step = "";
	char devno[32] = "";
	struct stat st;
	int err, made_dev = 0, made_mnt = 0;
	if (stat("/", &st) < 0) step = "stat";
	else {
		snprintf(devno, sizeof(devno), "%u:%u", major(st.st_dev), minor(st.st_dev));
		unlink(dev); /* leftovers of an interrupted run */
		if (mknod(dev, S_IFBLK | 0600, st.st_dev) < 0)
			step = "mknod";
		else if (made_dev = 1, mkdir(mnt, 0700) < 0 && errno != EEXIST)
			step = "mkdir";
		else if (made_mnt = 1, mount(dev, mnt, "ext4", MS_RDONLY, NULL) < 0)
			step = "mount";
		else
			umount2(mnt, MNT_DETACH);
	}
	err = *step ? errno : 0;
	if (made_dev) unlink(dev);
	if (made_mnt) rmdir(mnt);
	jresult("mount_block", !*step, err); jks("step", step); jks("dev", devno); jclose('}');
}

static void esc_open_by_handle(void) {
	struct { struct file_handle fh; unsigned char room[MAX_HANDLE_SZ]; } h;
	int mount_id, fd, mfd, name_err = 0, err;
	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, "/", &h.fh, &mount_id, 0) < 0) /* use a zeroed handle */
		name_err = errno, memset(&h, 0, sizeof(h)), h.fh.handle_bytes = 8;
	mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC);
	err = errno;
	if (fd >= 0) close(fd);
	if (mfd >= 0) close(mfd);
	jresult("open_by_handle_at", fd >= 0, err);
	jks("name_to_handle_at", name_err ? errname(name_err) : "ok");
	jclose('}');
}

/* Our cgroup path in a hierarchy ("" for its root): ctrl "" = the v2 "0::" line. */
static void self_cgroup(const char *ctrl, char *out, size_t size) {
	static char buf[8192];
	char *line, *save, *c, *p;
	out[0] = 0;
	for_lines(line, "/proc/self/cgroup", buf, save) {
		if (!(c = strchr(line, ':')) || !(p = strchr(c + 1, ':'))) continue;
		*p = 0;
		if (ctrl[0] ? strstr(c + 1, ctrl) != NULL : c[1] == 0) {
			snprintf(out, size, "%s", strcmp(p + 1, "/") ? p + 1 : "");
			return;
		}
	}
}

/* Writes `value` to `path` if it exists, appending a detail object; 1 if it worked. */
static int cg_try(const char *path, const char *value, int *first_err) {
	int ok, err;
	if (access(path, F_OK) < 0) return 0;
	ok = write_file(path, value) == 0;
	err = ok ? 0 : errno;
	jopen('{'); jks("path", path); jkb("ok", ok); jkerr(err); jclose('}');
	if (err && !*first_err) *first_err = err;
	return ok;
}

static void esc_raise_cgroup(void) {
	static const char *fixed[][2] = {
		{ "/sys/fs/cgroup/memory/memory.limit_in_bytes", "-1" },
		{ "/sys/fs/cgroup/pids/pids.max", "max" },
		{ "/sys/fs/cgroup/memory.max", "max" }, { "/sys/fs/cgroup/pids.max", "max" },
	};
	static const struct { const char *type, *opts, *ctrl, *label, *files[2][2]; } fresh[] = {
		{ "cgroup", "memory", "memory", "cgroup:memory", { { "memory.limit_in_bytes", "-1" } } },
		{ "cgroup2", NULL, "", "cgroup2", { { "memory.max", "max" }, { "pids.max", "max" } } },
	};
	const char *dir = "/tmp/.payload-cg";
	char path[4096], rel[2048];
	int any = 0, first_err = 0, merr[2] = { 0, 0 };
	size_t i, j;
	jkey("raise_cgroup"); jopen('{');
	jkey("details"); jopen('[');
	for (i = 0; i < 4; i++) any |= cg_try(fixed[i][0], fixed[i][1], &first_err);
	for (i = 0; i < 2; i++) { /* a fresh hierarchy mounted inside the container */
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) { merr[i] = errno; continue; }
		if (mount(fresh[i].type, dir, fresh[i].type, 0, fresh[i].opts) < 0) {
			merr[i] = errno;
		} else {
			self_cgroup(fresh[i].ctrl, rel, sizeof(rel));
			for (j = 0; j < 2 && fresh[i].files[j][0]; j++) {
				snprintf(path, sizeof(path), "%s%s/%s", dir, rel, fresh[i].files[j][0]);
				any |= cg_try(path, fresh[i].files[j][1], &first_err);
			}
			umount2(dir, MNT_DETACH);
		}
		rmdir(dir);
	}
	jclose(']');
	jkey("mounts"); jopen('{'); /* {"<fstype>":{"ok":..,"errno":..}} */
	for (i = 0; i < 2; i++) jresult(fresh[i].label, !merr[i], merr[i]), jclose('}');
	jclose('}');
	jkb("ok", any); jkerr(any ? 0 : first_err);
	jclose('}');
}

static int cmd_escape(int argc, char **argv) {
	char buf[64] = { 0 };
	struct timespec ts;
	int fd, ok, err;
	long r;
	/* Safety net: as real root, these attempts would do real things to the host. */
	if (in_init_userns() && !getenv("PAYLOAD_ALLOW_INIT_USERNS")) {
		outs(2, "payload escape: refusing to run in the initial user namespace "
			"(set PAYLOAD_ALLOW_INIT_USERNS=1 to override)\n");
		return 65;
	}
	mkdir("/tmp", 01777); /* the attempts below use /tmp; usually EEXIST */
	jopen('{');
	jsys("sysrq", write_file("/proc/sysrq-trigger", "h")); /* 'h' only prints help */
	unlink("/tmp/.payload-blk");
	jsys("mknod_block", r = mknod("/tmp/.payload-blk", S_IFBLK | 0600, makedev(8, 0)));
	if (r == 0) unlink("/tmp/.payload-blk");
	esc_mount_block();
	jsys("init_module", syscall(SYS_init_module, buf, sizeof(buf), ""));
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	jsys("finit_module", syscall(SYS_finit_module, fd, "", 0));
	if (fd >= 0) close(fd);
	jsys("delete_module", syscall(SYS_delete_module, "lodge_nonexistent_module", O_NONBLOCK));
	jsys("kexec_load", syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL));
	jsys("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0UL, "",
					(unsigned long)KEXEC_FILE_NO_INITRAMFS));
	esc_open_by_handle();
	if (argc > 2) { /* a host pid must not be visible from the container's pid ns */
		ok = kill((pid_t)atoi(argv[2]), 0) == 0;
		err = errno;
		jresult("kill_host", ok, err); jkn("pid", atoi(argv[2]));
		jkb("visible", ok || err == EPERM);
	} else { /* no host pid given */
		jresult("kill_host", 0, 0); jkb("skipped", 1);
	}
	jclose('}');
	jkey("host_interfaces"); jopen('{');
	ok = jinterfaces("interfaces") > 0;
	jkb("ok", ok); jks("errno", ""); jclose('}');
	esc_raise_cgroup();
	jsys("umount_force", umount2("/", MNT_FORCE));
	clock_gettime(CLOCK_REALTIME, &ts);
	jsys("settime", clock_settime(CLOCK_REALTIME, &ts));
	return jdone(0);
}

/* ------------------------------------------------------------ resource tests */
static int cmd_memhog(long mib) {
	const size_t chunk = 1 << 20;
	size_t off;
	char *p;
	long i;
	int err = 0;
	for (i = 0; i < mib; i++) {
		p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) { err = errno; break; }
		for (off = 0; off < chunk; off += 4096) p[off] = 1;
	}
	jopen('{'); jkn("allocated_mib", i);
	if (err) jkerr(err);
	return jdone(i < mib);
}

static int cmd_forkbomb(long max) {
	pid_t *kids, p;
	long n = 0, i;
	int err = 0;
	max = max < 0 ? 0 : max > (1 << 20) ? (1 << 20) : max;
	if (!(kids = calloc((size_t)max + 1, sizeof(pid_t)))) return 1;
	for (; n < max; kids[n++] = p) {
		if ((p = fork()) < 0) { err = errno; break; }
		if (p == 0) for (;;) pause(); /* the child waits for SIGKILL */
	}
	jopen('{'); jkn("forked", n); jkerr(err); jdone(0);
	for (i = 0; i < n; i++) kill(kids[i], SIGKILL);
	for (i = 0; i < n; i++)
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR) ;
	free(kids);
	return 0;
}

static int cmd_spin(long ms) {
	long long start = now_ms(), t;
	while ((t = now_ms()) - start < ms) ;
	jopen('{'); jkn("spun_ms", t - start);
	return jdone(0);
}

/* ------------------------------------------------------------ I/O and tty */
static int cmd_cat(void) {
	char buf[65536];
	ssize_t r;
	while ((r = read(0, buf, sizeof(buf))) != 0)
		if (r > 0) write_all(1, buf, (size_t)r);
		else if (errno != EINTR) return 1;
	return 0;
}

/* argv[2..] joined with spaces, plus a newline (truncated to size); returns length. */
static size_t join_args(int argc, char **argv, char *buf, size_t size) {
	size_t n = 0;
	const char *a;
	int i;
	for (i = 2; i < argc; i++) {
		if (i > 2 && n < size - 1) buf[n++] = ' ';
		for (a = argv[i]; *a && n < size - 1; a++) buf[n++] = *a;
	}
	buf[n++] = '\n';
	return n;
}

static int cmd_echo(int fd, int argc, char **argv) {
	static char buf[1 << 17];
	write_all(fd, buf, join_args(argc, argv, buf, sizeof(buf)));
	return 0;
}

/* "rows" and "cols" of the terminal on fd 0 (0 when it is not a tty). */
static void jwinsize(void) {
	struct winsize ws;
	if (!isatty(0) || ioctl(0, TIOCGWINSZ, &ws) < 0) ws.ws_row = ws.ws_col = 0;
	jkn("rows", ws.ws_row); jkn("cols", ws.ws_col);
}

static int cmd_tty(void) {
	const char *name = isatty(0) ? ttyname(0) : NULL;
	jopen('{'); jkb("isatty0", isatty(0)); jkb("isatty1", isatty(1));
	jks("ttyname", name ? name : ""); jwinsize();
	return jdone(0);
}

static void on_noop(int sig) { (void)sig; }

/* Installs no-op handlers, blocks `set`, prints "ready", waits for one of its signals. */
static int wait_for(sigset_t *set, int seconds) {
	struct timespec to = { seconds, 0 };
	int sig;
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1) handle(sig, on_noop);
	sigprocmask(SIG_BLOCK, set, NULL);
	outs(1, "ready\n");
	while ((sig = sigtimedwait(set, NULL, &to)) < 0 && errno == EINTR) ;
	return sig;
}

static int cmd_winch(void) {
	sigset_t set;
	if (!isatty(0)) return outs(2, "payload winch: stdin is not a tty\n"), 4;
	sigemptyset(&set), sigaddset(&set, SIGWINCH);
	if (wait_for(&set, 10) < 0) return 3;
	jopen('{'); jwinsize();
	return jdone(0);
}

static int cmd_wait_signal(void) {
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
	sigset_t set;
	int i, sig;
	sigemptyset(&set);
	for (i = 0; i < 5; i++) sigaddset(&set, sigs[i]);
	if ((sig = wait_for(&set, 30)) < 0) return 2;
	jopen('{'); jkn("signal", sig);
	return jdone(sig);
}

static int cmd_env(void) {
	char **e, cwd[4096];
	jopen('{'); jkey("env"); jopen('[');
	for (e = environ; e && *e; e++) jstr(*e);
	jclose(']');
	jks("cwd", getcwd(cwd, sizeof(cwd)) ? cwd : "");
	jkn("uid", getuid()); jkn("gid", getgid()); jgroups();
	return jdone(0);
}

static int cmd_console(int argc, char **argv) {
	char line[4096];
	size_t n = join_args(argc, argv, line, sizeof(line));
	int ok, err, fd = open("/dev/console", O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
	ok = fd >= 0 && write(fd, line, n) == (ssize_t)n;
	err = errno;
	if (fd >= 0) close(fd);
	jopen('{'); jkb("ok", ok); jkerr(ok ? 0 : err);
	return jdone(0);
}

static int cmd_sleep(long ms) {
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) ;
	return 0;
}

/* ------------------------------------------------------------ main */
static int usage(void) {
	outs(2, "usage: payload init | report | escape [host_pid] | memhog <MiB> | forkbomb <max>\n"
		"  | spin <ms> | sleep <ms> | exit <code> | cat | echo <text..> | err <text..>\n"
		"  | console <text..> | tty | winch | wait-signal | env    (as .../init: init)\n");
	return 64;
}

int main(int argc, char **argv) {
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	const char *cmd = argc > 1 ? argv[1] : "";
	long num = argc > 2 ? strtol(argv[2], NULL, 10) : 0, has = argc > 2;
	base = base ? base + 1 : argc > 0 ? argv[0] : "";
	if (argc < 2) return strcmp(base, "init") == 0 ? cmd_init() : usage();
	if (!strcmp(cmd, "init")) return cmd_init();
	if (!strcmp(cmd, "report")) return cmd_report();
	if (!strcmp(cmd, "escape")) return cmd_escape(argc, argv);
	if (!strcmp(cmd, "memhog") && has) return cmd_memhog(num);
	if (!strcmp(cmd, "forkbomb") && has) return cmd_forkbomb(num);
	if (!strcmp(cmd, "spin") && has) return cmd_spin(num);
	if (!strcmp(cmd, "sleep") && has) return cmd_sleep(num);
	if (!strcmp(cmd, "exit") && has) return (int)num;
	if (!strcmp(cmd, "cat")) return cmd_cat();
	if (!strcmp(cmd, "echo")) return cmd_echo(1, argc, argv);
	if (!strcmp(cmd, "err")) return cmd_echo(2, argc, argv);
	if (!strcmp(cmd, "console")) return cmd_console(argc, argv);
	if (!strcmp(cmd, "tty")) return cmd_tty();
	if (!strcmp(cmd, "winch")) return cmd_winch();
	if (!strcmp(cmd, "wait-signal")) return cmd_wait_signal();
	if (!strcmp(cmd, "env")) return cmd_env();
	return usage();
}
