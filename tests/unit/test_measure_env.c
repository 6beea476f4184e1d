// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg measure's environment file: good files load, and every hostile
 * value is refused with one line naming the file and the key, before
 * anything could run it.
 */
#define _GNU_SOURCE  /* asprintf */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "measure/env.h"

static char dir[64];
static char file[128];
static char err[512];
static struct env_cfg cfg;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/netseg-test-env.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/env.yaml", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(file);
	rmdir(dir);
	return 0;
}

/* Write len bytes (the text may hold NULs) and load them. */
static int load_n(const char *text, size_t len)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	memset(err, 0, sizeof(err));
	return env_load(file, &cfg, err, sizeof(err));
}

static int load(const char *text)
{
	return load_n(text, strlen(text));
}

/* The load failed with one line "FILE: KEY: ..." naming this key. */
static void refused(int rc, const char *key)
{
	char want[256];

	snprintf(want, sizeof(want), "%s: %s: ", file, key);
	if (rc != -1 || strncmp(err, want, strlen(want)) || strchr(err, '\n'))
		fail_msg("rc %d, want '%s...', got '%s'", rc, want, err);
}

/* ---- a template, every value double-quoted and escaped --------------- */

enum field {
	F_NAME, F_SVM_SSH, F_SVM_IP, F_SHOST_SSH, F_SHOST_VNET, F_SHOST_PHY,
	F_RVM_SSH, F_RVM_IP, F_RHOST_SSH, F_RHOST_VNET, F_RHOST_PHY, F_TOOLS_DIR,
	F_N,
};

static const char *const field_key[F_N] = {
	"environment.name", "sender.vm.ssh", "sender.vm.ip", "sender.host.ssh",
	"sender.host.vnet_interface", "sender.host.phy_interface", "receiver.vm.ssh",
	"receiver.vm.ip", "receiver.host.ssh", "receiver.host.vnet_interface",
	"receiver.host.phy_interface", "tools.dir",
};

static const char *const good[F_N] = {
	"prod-a", "user@10.0.0.5", "10.0.0.5", "root@hv1", "vnet0", "eth0",
	"user@10.0.1.5", "10.0.1.5", "root@hv2.example.org", "vnet3", "eno1",
	"/tmp/netseg-0.1.0",
};

/* YAML double-quoted form of s, so any byte can be placed in a value. */
static void quote(char *out, size_t len, const char *s)
{
	size_t o = 0;

	out[o++] = '"';
	for (; *s && o + 6 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%c", c);
		else if (c < 0x20)
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* The ssh-transport file with field f (if < F_N) set to v. */
static int load_with(enum field f, const char *v)
{
	char q[F_N][1024], *text;
	int rc;

	for (int i = 0; i < F_N; i++)
		quote(q[i], sizeof(q[i]), (int)f == i ? v : good[i]);
	assert_true(asprintf(&text,
		"environment:\n"
		"  name: %s\n"
		"sender:\n"
		"  vm:   { ssh: %s, ip: %s, sudo: true }\n"
		"  host: { ssh: %s, vnet_interface: %s, phy_interface: %s }\n"
		"receiver:\n"
		"  vm:   { ssh: %s, ip: %s }\n"
		"  host: { ssh: %s, vnet_interface: %s, phy_interface: %s, sudo: false }\n"
		"tools:\n"
		"  dir: %s\n"
		"  kernel_icmp_rtt: \"/opt/seed/kernel_icmp_rtt\"\n"
		"measurement:\n"
		"  duration: 30\n"
		"  ping_count: 20\n"
		"  ping_interval: 0.5\n",
		q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11]) > 0);
	rc = load(text);
	free(text);
	return rc;
}

/* What `netseg lab env --prefix x` prints, with one line replaceable. */
static const char lab_env[] =
	"# netseg lab environment, read by `netseg measure`\n"
	"environment:\n"
	"  name: \"netseg lab x\"\n"
	"  kind: lab\n"
	"  prefix: x\n"
	"sender:\n"
	"  vm:\n"
	"    netns: x-svm\n"
	"    ip: 198.18.0.1\n"
	"    interface: eth0\n"
	"  host:\n"
	"    netns: x-shost\n"
	"    vnet_interface: vnet0\n"
	"    phy_interface: phy0\n"
	"receiver:\n"
	"  vm:\n"
	"    netns: x-rvm\n"
	"    ip: 198.18.0.2\n"
	"    interface: eth0\n"
	"  host:\n"
	"    netns: x-rhost\n"
	"    vnet_interface: vnet0\n"
	"    phy_interface: phy0\n"
	"wire:\n"
	"  kind: veth\n"
	"  delay_us: [0, 0]\n"
	"vmm:\n"
	"  kvm: true\n"
	"  delay_us_to_vm: 0\n"
	"  delay_us_from_vm: 0\n";

/* lab_env with the first occurrence of `from` replaced by `to`. */
static int load_lab(const char *from, const char *to)
{
	char text[4096];
	const char *at = strstr(lab_env, from);

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - lab_env), lab_env, to,
		 at + strlen(from));
	return load(text);
}

/* ---- good files ------------------------------------------------------ */

static void test_ssh_file(void **state)
{
	(void)state;
	assert_int_equal(load_with(F_N, NULL), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.name, "prod-a");
	assert_int_equal(cfg.transport, ENV_TRANSPORT_SSH);
	assert_string_equal(cfg.role[ENV_SENDER_VM].ssh, "user@10.0.0.5");
	assert_string_equal(cfg.role[ENV_SENDER_VM].ip, "10.0.0.5");
	assert_true(cfg.role[ENV_SENDER_VM].sudo);
	assert_string_equal(cfg.role[ENV_SENDER_HOST].vnet, "vnet0");
	assert_string_equal(cfg.role[ENV_SENDER_HOST].phy, "eth0");
	assert_string_equal(cfg.role[ENV_RECEIVER_HOST].ssh, "root@hv2.example.org");
	assert_false(cfg.role[ENV_RECEIVER_HOST].sudo);
	assert_string_equal(cfg.role[ENV_RECEIVER_VM].ip, "10.0.1.5");
	assert_string_equal(cfg.tools_dir, "/tmp/netseg-0.1.0");
	assert_true(cfg.duration_s == 30);
	assert_int_equal(cfg.ping_count, 20);
	assert_true(cfg.ping_interval_s == 0.5);
}

/* the defaults the header promises, with only the required keys given */
static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(load("sender:\n"
			      "  vm: {ssh: a, ip: 10.0.0.1}\n"
			      "  host: {ssh: b, vnet_interface: v, phy_interface: p}\n"
			      "receiver:\n"
			      "  vm: {ssh: c, ip: 10.0.0.2}\n"
			      "  host: {ssh: d, vnet_interface: v, phy_interface: p}\n"), 0);
	assert_int_equal(cfg.transport, ENV_TRANSPORT_SSH);
	assert_string_equal(cfg.tools_dir, "/tmp/netseg-0.1.0");
	assert_true(cfg.ping_interval_s == 0.2);
	for (int r = 0; r < ENV_N_ROLES; r++)
		assert_true(cfg.role[r].sudo);
	assert_true(cfg.ping_count >= 1);
	assert_true(cfg.duration_s >= 1);
}

static void test_lab_env(void **state)
{
	(void)state;
	assert_int_equal(load(lab_env), 0);
	assert_int_equal(cfg.transport, ENV_TRANSPORT_LAB);
	assert_string_equal(cfg.lab_prefix, "x");
	assert_string_equal(cfg.name, "netseg lab x");
	assert_string_equal(cfg.role[ENV_SENDER_VM].netns, "x-svm");
	assert_string_equal(cfg.role[ENV_SENDER_HOST].netns, "x-shost");
	assert_string_equal(cfg.role[ENV_RECEIVER_VM].netns, "x-rvm");
	assert_string_equal(cfg.role[ENV_RECEIVER_HOST].netns, "x-rhost");
	assert_string_equal(cfg.role[ENV_RECEIVER_VM].ip, "198.18.0.2");
	assert_string_equal(cfg.role[ENV_SENDER_HOST].phy, "phy0");
	for (int r = 0; r < ENV_N_ROLES; r++)
		assert_string_equal(cfg.role[r].ssh, "");
	/* `transport: lab` is the same as `kind: lab` */
	assert_int_equal(load_lab("kind: lab", "transport: lab"), 0);
	assert_int_equal(cfg.transport, ENV_TRANSPORT_LAB);
}

/* ---- hostile values, every string field ------------------------------ */

static void test_shell_metacharacters(void **state)
{
	static const char *const meta[] = {
		";", "|", "&", "$", "`", "'", "\"", "\n", " ", "$(id)", "\\", "<", ">", "*",
		"\t", "\x01",
	};
	char v[64];

	(void)state;
	for (int f = 0; f < F_N; f++) {
		for (size_t m = 0; m < sizeof(meta) / sizeof(meta[0]); m++) {
			/* a name is shown, never run, and may hold inner spaces */
			if (f == F_NAME && !strcmp(meta[m], " "))
				continue;
			snprintf(v, sizeof(v), "%s%sx", f == F_TOOLS_DIR ? "/a" : "a", meta[m]);
			refused(load_with((enum field)f, v), field_key[f]);
		}
	}
	/* the brief's own example */
	refused(load_with(F_SHOST_VNET, "vnet0;rm -rf /"), "sender.host.vnet_interface");
	assert_non_null(strstr(err, "'vnet0;rm -rf /' is not an interface name"));
}

static void test_lab_fields_hostile(void **state)
{
	(void)state;
	refused(load_lab("netns: x-svm", "netns: \"x;id\""), "sender.vm.netns");
	refused(load_lab("netns: x-rhost", "netns: \"$(id)\""), "receiver.host.netns");
	refused(load_lab("netns: x-svm", "netns: -x"), "sender.vm.netns");
	refused(load_lab("prefix: x", "prefix: \"x y\""), "environment.prefix");
	refused(load_lab("prefix: x", "prefix: \"x`id`\""), "environment.prefix");
	refused(load_lab("interface: eth0", "interface: \"eth0|x\""), "sender.vm.interface");
	refused(load_lab("kind: veth", "kind: tunnel"), "wire.kind");
	refused(load_lab("[0, 0]", "[0]"), "wire.delay_us");
	refused(load_lab("[0, 0]", "[0, x]"), "wire.delay_us[1]");
	refused(load_lab("kvm: true", "kvm: maybe"), "vmm.kvm");
	refused(load_lab("delay_us_to_vm: 0", "delay_us_to_vm: -1"), "vmm.delay_us_to_vm");
}

static void test_ssh_option_injection(void **state)
{
	static const char *const bad[] = {
		"-oProxyCommand=x", "-oProxyCommand=id", "user@-oProxyCommand=x", "-l@host",
		"-", "Root@host", "user@", "@host", "user@host@x", "user@host:22", "user@-host",
		"user@host-", "user@a..b", "user@10.0.0.256", "user@1.2.3.4.5",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(load_with(F_SVM_SSH, bad[i]), "sender.vm.ssh");
}

static void test_paths(void **state)
{
	static const char *const bad[] = {
		"../x", "/tmp/../etc", "/tmp/..", "tmp/x", "./x", "/", "~/x", "/tmp/a b",
		"", "/tmp/x;y", "-/x",
	};
	char longp[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(load_with(F_TOOLS_DIR, bad[i]), "tools.dir");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	refused(load_with(F_TOOLS_DIR, longp), "tools.dir");
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(load_with(F_TOOLS_DIR, "/opt/netseg+x/bin-1.2_3"), 0);
}

static void test_overlong(void **state)
{
	char v[600];

	(void)state;
	memset(v, 'a', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	refused(load_with(F_NAME, v), "environment.name");
	refused(load_with(F_SVM_SSH, v), "sender.vm.ssh");
	refused(load_with(F_SHOST_PHY, v), "sender.host.phy_interface");
	/* the one-line error shows a bounded piece of the value */
	assert_true(strlen(err) < 200);
	refused(load_with(F_RHOST_VNET, "abcdefghijklmnop"), "receiver.host.vnet_interface");
	assert_int_equal(load_with(F_RHOST_VNET, "abcdefghijklmno"), 0);
}

static void test_ips(void **state)
{
	static const char *const bad[] = {
		"10.0.0.256", "1.2.3", "::1", "010.0.0.1", " 10.0.0.1", "10.0.0.1 ",
		"10.0.0.1\n", "0x0a.0.0.1", "10.0.0", "host", "1.2.3.4/24", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		refused(load_with(F_SVM_IP, bad[i]), "sender.vm.ip");
		refused(load_with(F_RVM_IP, bad[i]), "receiver.vm.ip");
	}
	/* two VMs at one address cannot be sender and receiver */
	refused(load_with(F_RVM_IP, "10.0.0.5"), "receiver.vm.ip");
}

static int load_measurement(const char *key, const char *value)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "sender:\n"
		 "  vm: {ssh: a, ip: 10.0.0.1}\n"
		 "  host: {ssh: b, vnet_interface: v, phy_interface: p}\n"
		 "receiver:\n"
		 "  vm: {ssh: c, ip: 10.0.0.2}\n"
		 "  host: {ssh: d, vnet_interface: v, phy_interface: p}\n"
		 "measurement:\n"
		 "  %s: %s\n", key, value);
	return load(text);
}

static void test_numbers(void **state)
{
	static const char *const bad_count[] = {
		"0", "1e9", "1000000000", "100001", "-1", "50.5", "0x10", "inf", "nan", "", "\"\"",
		"[1]", "{a: 1}", "99999999999999999999999",
	};
	static const char *const bad_dur[] = { "0", "86401", "-5", "1e3", ".5", "5.", "inf" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad_count) / sizeof(bad_count[0]); i++)
		refused(load_measurement("ping_count", bad_count[i]), "measurement.ping_count");
	for (size_t i = 0; i < sizeof(bad_dur) / sizeof(bad_dur[0]); i++)
		refused(load_measurement("duration", bad_dur[i]), "measurement.duration");
	refused(load_measurement("ping_interval", "0"), "measurement.ping_interval");
	assert_int_equal(load_measurement("ping_count", "100000"), 0);
	assert_int_equal(cfg.ping_count, 100000);
	assert_int_equal(load_measurement("ping_count", "1"), 0);
	assert_int_equal(load_measurement("duration", "86400"), 0);
	assert_int_equal(load_measurement("ping_interval", "0.01"), 0);
	assert_true(cfg.ping_interval_s == 0.01);
}

/* ---- hostile YAML ---------------------------------------------------- */

static void test_aliases(void **state)
{
	(void)state;
	/* a billion laughs: refused at the first alias, never expanded */
	refused(load("a: &a [x, x, x, x, x, x, x, x, x]\n"
		     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		     "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"), "a");
	assert_non_null(strstr(err, "anchors"));
	/* an alias standing for a valid value is refused all the same */
	refused(load("sender:\n"
		     "  vm: {ssh: a, ip: 10.0.0.1}\n"
		     "  host: {ssh: b, vnet_interface: v, phy_interface: p}\n"
		     "receiver:\n"
		     "  vm: {ssh: c, ip: 10.0.0.2}\n"
		     "  host: *x\n"), "receiver.host");
	assert_non_null(strstr(err, "aliases"));
	/* a merge key is an alias too */
	refused(load("sender:\n"
		     "  vm: {ssh: a, ip: 10.0.0.1}\n"
		     "  host: {<<: *h}\n"), "sender.host.<<");
}

static void test_tags(void **state)
{
	(void)state;
	refused(load("environment:\n  name: !!python/object/apply:os.system [\"id\"]\n"),
		"environment.name");
	refused(load_lab("prefix: x", "prefix: !!str x"), "environment.prefix");
}

static void test_non_scalars(void **state)
{
	(void)state;
	refused(load_lab("ip: 198.18.0.1", "ip: [198.18.0.1]"), "sender.vm.ip");
	refused(load_lab("vnet_interface: vnet0", "vnet_interface: {a: b}"),
		"sender.host.vnet_interface");
	refused(load_lab("kvm: true", "kvm: [true]"), "vmm.kvm");
	refused(load_lab("name: \"netseg lab x\"", "name: [a, b]"), "environment.name");
	refused(load("sender: \"x\"\n"), "sender");
	refused(load("sender: [vm, host]\n"), "sender");
	refused(load("environment: 1\n"), "environment");
	/* a key that is itself a list or a mapping */
	refused(load("sender:\n  ? [vm]\n  : x\n"), "sender");
	refused(load("? {a: b}\n: c\n"), "(top level)");
	/* a NUL inside a quoted value must not cut it short silently */
	refused(load_lab("prefix: x", "prefix: \"x\\0y\""), "environment.prefix");
}

static void test_not_yaml(void **state)
{
	static const char bin[] = "\x7f" "ELF\x02\x01\x01\0\0\0\xff\xfe";

	(void)state;
	refused(load_n(bin, sizeof(bin) - 1), "(file)");
	refused(load("sender: [unclosed\n"), "sender");
	refused(load("just some words\n"), "(top level)");
	refused(load("{\"json\": \"but not ours\"}"), "json");
	refused(load("a: b\n---\nc: d\n"), "(file)");
	assert_non_null(strstr(err, "more than one"));
	refused(load("\tsender:\n"), "(file)");
}

static void test_empty(void **state)
{
	(void)state;
	refused(load(""), "(file)");
	assert_non_null(strstr(err, "empty"));
	refused(load("# only a comment\n\n"), "(file)");
	refused(load("---\n"), "(top level)");
	refused(load("{}\n"), "sender");
	assert_non_null(strstr(err, "missing"));
}

static void test_duplicates(void **state)
{
	(void)state;
	refused(load_lab("wire:", "sender: {}\nwire:"), "sender");
	assert_non_null(strstr(err, "duplicate"));
	refused(load_lab("    ip: 198.18.0.1\n", "    ip: 198.18.0.1\n    ip: 198.18.0.9\n"),
		"sender.vm.ip");
	assert_non_null(strstr(err, "duplicate"));
	refused(load_lab("kvm: true", "kvm: true\n  kvm: false"), "vmm.kvm");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	refused(load_lab("    ip: 198.18.0.1\n", "    ipp: 198.18.0.1\n"), "sender.vm.ipp");
	assert_non_null(strstr(err, "unknown key"));
	refused(load_lab("wire:", "extra: 1\nwire:"), "extra");
	refused(load_lab("kind: lab", "kind: lab\n  nmae: x"), "environment.nmae");
}

static void test_missing(void **state)
{
	(void)state;
	refused(load_lab("    phy_interface: phy0\nwire", "wire"), "receiver.host.phy_interface");
	assert_non_null(strstr(err, "missing"));
	refused(load_lab("    netns: x-svm\n", ""), "sender.vm.netns");
	refused(load_lab("    ip: 198.18.0.2\n", ""), "receiver.vm.ip");
	refused(load_lab("  prefix: x\n", ""), "environment.prefix");
	refused(load_lab("  host:\n    netns: x-shost\n    vnet_interface: vnet0\n"
			 "    phy_interface: phy0\n", ""), "sender.host");
	/* ssh transport: every role needs its target */
	refused(load("sender:\n"
		     "  vm: {ip: 10.0.0.1}\n"
		     "  host: {ssh: b, vnet_interface: v, phy_interface: p}\n"), "sender.vm.ssh");
	refused(load_with(F_SVM_SSH, ""), "sender.vm.ssh");
	refused(load("sender:\n"
		     "  vm: {ssh: a, ip: 10.0.0.1}\n"
		     "  host: {ssh: b, phy_interface: p}\n"), "sender.host.vnet_interface");
	refused(load("sender:\n"
		     "  vm: {ssh: a, ip: 10.0.0.1}\n"
		     "  host: {ssh: b, vnet_interface: v, phy_interface: p}\n"), "receiver");
}

static void test_transport_mixups(void **state)
{
	(void)state;
	refused(load_lab("    netns: x-svm\n", "    ssh: root@h\n    netns: x-svm\n"),
		"sender.vm.ssh");
	refused(load_lab("kind: lab", "kind: lab\n  transport: ssh"), "environment.kind");
	refused(load_lab("kind: lab", "transport: telnet"), "environment.transport");
	/* a netns or a prefix in an ssh file is a mix-up, not something to ignore */
	refused(load_lab("kind: lab", "transport: ssh"), "environment.prefix");
	refused(load_lab("kind: lab\n  prefix: x", "transport: ssh"), "sender.vm.ssh");
	refused(load("sender:\n"
		     "  vm: {ssh: a, ip: 10.0.0.1, netns: x-svm}\n"), "sender.vm.netns");
}

static void test_sudo(void **state)
{
	(void)state;
	refused(load_lab("    netns: x-svm\n", "    netns: x-svm\n    sudo: yes\n"),
		"sender.vm.sudo");
	refused(load_lab("    netns: x-svm\n", "    netns: x-svm\n    sudo: \"\"\n"),
		"sender.vm.sudo");
	assert_int_equal(load_lab("    netns: x-svm\n", "    netns: x-svm\n    sudo: false\n"), 0);
	assert_false(cfg.role[ENV_SENDER_VM].sudo);
	assert_true(cfg.role[ENV_SENDER_HOST].sudo);
}

static void test_no_file(void **state)
{
	char missing[160];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope.yaml", dir);
	assert_int_equal(env_load(missing, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nope.yaml: (file): cannot open"));
	assert_int_equal(env_load(dir, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

/* ---- the validators on their own ------------------------------------- */

static void test_validators(void **state)
{
	(void)state;
	assert_true(env_valid_ifname("eth0"));
	assert_true(env_valid_ifname("br-lan.100"));
	assert_true(env_valid_ifname("a_b"));
	assert_false(env_valid_ifname(""));
	assert_false(env_valid_ifname("."));
	assert_false(env_valid_ifname(".."));
	assert_false(env_valid_ifname("eth0:1"));
	assert_false(env_valid_ifname("a/b"));
	assert_false(env_valid_ifname("0123456789abcdef"));
	assert_false(env_valid_ifname("-i"));

	assert_true(env_valid_ipv4("0.0.0.0"));
	assert_true(env_valid_ipv4("255.255.255.255"));
	assert_false(env_valid_ipv4("256.0.0.0"));
	assert_false(env_valid_ipv4("1.2.3.04"));
	assert_false(env_valid_ipv4("1.2.3.4.5"));
	assert_false(env_valid_ipv4("::ffff:1.2.3.4"));

	assert_true(env_valid_ssh_target("host"));
	assert_true(env_valid_ssh_target("root@10.0.0.1"));
	assert_true(env_valid_ssh_target("_svc-1@a-b.example.com"));
	assert_false(env_valid_ssh_target("-oProxyCommand=x"));
	assert_false(env_valid_ssh_target("user name@host"));
	assert_false(env_valid_ssh_target("9user@host"));
	assert_false(env_valid_ssh_target("user@host;id"));
	assert_false(env_valid_ssh_target("user@[::1]"));
	assert_false(env_valid_ssh_target("1.2.3"));

	assert_true(env_valid_path("/tmp/netseg-0.1.0"));
	assert_false(env_valid_path("/tmp/a..b"));
	assert_false(env_valid_path("relative"));

	assert_true(env_valid_word("x-svm"));
	assert_false(env_valid_word(""));
	assert_false(env_valid_word("-n"));
	assert_false(env_valid_word("a b"));
	assert_false(env_valid_word("a/b"));

	assert_string_equal(env_role_name(ENV_SENDER_VM), "sender-vm");
	assert_string_equal(env_role_name(ENV_RECEIVER_HOST), "receiver-host");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_lab_env),
		cmocka_unit_test(test_shell_metacharacters),
		cmocka_unit_test(test_lab_fields_hostile),
		cmocka_unit_test(test_ssh_option_injection),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_ips),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_non_scalars),
		cmocka_unit_test(test_not_yaml),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_transport_mixups),
		cmocka_unit_test(test_sudo),
		cmocka_unit_test(test_no_file),
		cmocka_unit_test(test_validators),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
