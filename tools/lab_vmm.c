// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netseg lab vmm-sim: the VMM + vhost of one lab VM.
 *
 * It creates the VM's tap (inside the VM namespace) and the host's tap
 * (inside the host namespace), copies frames between them with one thread
 * per direction, and owns a real KVM VM: an in-kernel irqchip, GSI 24
 * routed as an MSI, and an irqfd on that GSI. After every batch it delivers
 * toward the VM, the thread that read the batch from the host tap writes the
 * irqfd's eventfd once, as vhost-net signals a guest: with an MSI route the
 * kernel injects inline, so `kvm:kvm_msi_set_irq` fires in that same thread.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "lab_tap.h"
#include "lib/cli.h"
#include "lib/output.h"
#include "lib/tracer.h"

#define VMM_GSI 24
#define VMM_MSI_ADDR 0xfee00000u  /* LAPIC of APIC id 0 */
#define VMM_MSI_DATA 0x4041u      /* fixed delivery, vector 0x41 */
#define VMM_SPIN_US_DEFAULT 100

static struct vmm_env {
	const char *vm_netns, *vm_if, *host_netns, *host_if;
	uint64_t delay_to_vm_us, delay_to_host_us;
	uint64_t spin_us;
	int rt_prio;    /* -1: LAB_RT_PRIO_DELAYED for a delayed direction */
	bool xmit_stamps; /* --stamp xmit: hold from the kernel's transmit into the tap */
	bool no_kvm;
	bool json;
	const char *ready_file;
} venv = { .vm_if = "eth0", .host_if = "vnet0", .spin_us = VMM_SPIN_US_DEFAULT,
	  .rt_prio = -1 };

struct vmm_kvm {
	int kvm_fd, vm_fd, vcpu_fd, irq_fd;
	bool kvm;       /* the eventfd is a KVM irqfd */
	bool vcpu;      /* a vCPU (APIC id 0) exists to accept the MSI */
};

enum {
	OPT_VM_NETNS = 0x1000,
	OPT_VM_IF,
	OPT_HOST_NETNS,
	OPT_HOST_IF,
	OPT_DELAY_TO_VM,
	OPT_DELAY_TO_HOST,
	OPT_NO_KVM,
	OPT_READY_FILE,
	OPT_SPIN_US,
	OPT_RT_PRIO,
	OPT_STAMP,
};

static const char vmm_doc[] =
	"Play the VMM and vhost of one lab VM: create a tap named --vm-if inside\n"
	"--vm-netns and one named --host-if inside --host-netns (not persistent:\n"
	"they go when this process exits; addresses, bridges and link state are\n"
	"the lab's job), copy Ethernet frames both ways with one thread per\n"
	"direction and, for every batch delivered toward the VM, write once to a\n"
	"KVM irqfd (GSI 24, MSI route) from the thread that read the batch, so\n"
	"kvm:kvm_msi_set_irq fires in that thread. NS is a path (/run/netns/x,\n"
	"/proc/PID/ns/net) or an `ip netns` name. The ready file gets one JSON line\n"
	"once the taps and the VM exist; SIGINT/SIGTERM end it with one stats line.\n"
	"Exit 2: bad input; 1: not root, no /dev/net/tun, no /dev/kvm.\n"
	"\n"
	"EXAMPLES:\n"
	"  netseg lab vmm-sim --vm-netns svm --host-netns shost \\\n"
	"      --ready-file /run/vmm-s.ready\n"
	"  netseg lab vmm-sim --vm-netns /run/netns/rvm --vm-if eth0 \\\n"
	"      --host-netns rhost --host-if vnet0 --delay-us-to-vm 100 --json";

static const struct argp_option vmm_opts[] = {
	{ "vm-netns", OPT_VM_NETNS, "NS", 0, "the VM's namespace (required)", 0 },
	{ "vm-if", OPT_VM_IF, "NAME", 0, "tap inside the VM namespace (default eth0)", 0 },
	{ "host-netns", OPT_HOST_NETNS, "NS", 0, "the host's namespace (required)", 0 },
	{ "host-if", OPT_HOST_IF, "NAME", 0, "tap inside the host namespace (default vnet0)", 0 },
	{ "delay-us-to-vm", OPT_DELAY_TO_VM, "US", 0, "hold frames toward the VM this long", 0 },
	{ "delay-us-to-host", OPT_DELAY_TO_HOST, "US", 0, "hold frames toward the host this long", 0 },
	{ "spin-us", OPT_SPIN_US, "US", 0,
	  "with a delay: sleep until US before the due time, then spin (default 100)", 0 },
	{ "rt-prio", OPT_RT_PRIO, "N", 0,
	  "SCHED_FIFO priority of the copying threads (default: 10 for a delayed direction, else none; 0: none)", 0 },
	{ "stamp", OPT_STAMP, "read|xmit", 0,
	  "with a delay, hold each frame from our read of it (read, default) or from the "
	  "kernel's transmit into the tap (xmit: a packet socket's stamp)", 0 },
	{ "no-kvm", OPT_NO_KVM, NULL, 0,
	  "no KVM VM: the interrupt is a plain eventfd and the KVM stages will be missing", 0 },
	{ "ready-file", OPT_READY_FILE, "PATH", 0, "write the ready record here", 0 },
	{ "json", 'j', NULL, 0, "ready and stats records as JSON lines", 0 },
	{},
};

static error_t vmm_parse(int key, char *arg, struct argp_state *state)
{
	char err[256];

	(void)state;
	switch (key) {
	case OPT_VM_NETNS:
		venv.vm_netns = arg;
		break;
	case OPT_VM_IF:
		venv.vm_if = arg;
		break;
	case OPT_HOST_NETNS:
		venv.host_netns = arg;
		break;
	case OPT_HOST_IF:
		venv.host_if = arg;
		break;
	case OPT_DELAY_TO_VM:
		if (lab_parse_delay("--delay-us-to-vm", arg, false, &venv.delay_to_vm_us, NULL, err,
				    sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_DELAY_TO_HOST:
		if (lab_parse_delay("--delay-us-to-host", arg, false, &venv.delay_to_host_us, NULL,
				    err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_SPIN_US:
		if (cli_parse_u64("--spin-us", arg, 0, 10000, &venv.spin_us, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_RT_PRIO:
		if (lab_parse_rt_prio(arg, &venv.rt_prio, err, sizeof(err)))
			cli_usage_error("%s", err);
		break;
	case OPT_STAMP: {
		static const char *const choices[] = { "read", "xmit", NULL };
		int c = cli_parse_choice("--stamp", arg, choices, err, sizeof(err));

		if (c < 0)
			cli_usage_error("%s", err);
		venv.xmit_stamps = c == 1;
		break;
	}
	case OPT_NO_KVM:
		venv.no_kvm = true;
		break;
	case OPT_READY_FILE:
		venv.ready_file = arg;
		break;
	case 'j':
		venv.json = true;
		break;
	case ARGP_KEY_ARG:
		cli_usage_error("unexpected argument '%s'", arg);
	case ARGP_KEY_END:
		if (!venv.vm_netns)
			cli_usage_error("missing --vm-netns NS (the VM's network namespace)");
		if (!venv.host_netns)
			cli_usage_error("missing --host-netns NS (the host's network namespace)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* KVM_CREATE_VM + in-kernel irqchip + GSI 24 as MSI + irqfd on it. Returns
 * 0, or LAB_EXIT_RESOURCE with one line in err. */
static int kvm_setup(struct vmm_kvm *k, char *err, size_t errlen)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} routing;
	struct kvm_irqfd irqfd;
	const char *step;

	k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm_fd < 0) {
		snprintf(err, errlen,
			 "no KVM: cannot open /dev/kvm (%s); run with --no-kvm to go on without the KVM stages",
			 strerror(errno));
		return LAB_EXIT_RESOURCE;
	}
	step = "KVM_CREATE_VM";
	k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0)
		goto fail;
	step = "KVM_CREATE_IRQCHIP";
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0))
		goto fail;
	/* a vCPU gives the MSI a LAPIC to land in (kvm_apic_accept_irq); the
	 * signal path works without one, so its absence is only reported */
	k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0);
	k->vcpu = k->vcpu_fd >= 0;
	memset(&routing, 0, sizeof(routing));
	routing.r.nr = 1;
	routing.e[0].gsi = VMM_GSI;
	routing.e[0].type = KVM_IRQ_ROUTING_MSI;
	routing.e[0].u.msi.address_lo = VMM_MSI_ADDR;
	routing.e[0].u.msi.address_hi = 0;
	routing.e[0].u.msi.data = VMM_MSI_DATA;
	step = "KVM_SET_GSI_ROUTING";
	if (ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, &routing))
		goto fail;
	step = "eventfd";
	k->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->irq_fd < 0)
		goto fail;
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = (uint32_t)k->irq_fd;
	irqfd.gsi = VMM_GSI;
	step = "KVM_IRQFD";
	if (ioctl(k->vm_fd, KVM_IRQFD, &irqfd))
		goto fail;
	k->kvm = true;
	return 0;
fail:
	snprintf(err, errlen, "KVM setup failed at %s: %s; run with --no-kvm to go on without the KVM stages",
		 step, strerror(errno));
	return LAB_EXIT_RESOURCE;
}

static void kvm_close(struct vmm_kvm *k)
{
	if (k->irq_fd >= 0)
		close(k->irq_fd);
	if (k->vcpu_fd >= 0)
		close(k->vcpu_fd);
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	k->irq_fd = k->vcpu_fd = k->vm_fd = k->kvm_fd = -1;
}

int lab_vmm_main(int argc, char **argv)
{
	static const struct argp argp = { vmm_opts, vmm_parse, NULL, vmm_doc, NULL, NULL, NULL };
	static struct lab_pump to_vm, to_host;
	struct vmm_kvm k = { -1, -1, -1, -1, false, false };
	struct lab_tap vm_tap = { .fd = -1 }, host_tap = { .fd = -1 };
	struct lab_netns vm_ns, host_ns;
	pthread_t th_vm, th_host;
	bool started_vm = false, started_host = false;
	char err[512] = "", vm_json[700], host_json[700], vm_text[300], host_text[300];
	struct out_rec *r = NULL;
	int rc;

	cli_set_tool("netseg lab vmm-sim");
	lab_pump_init(&to_vm);
	lab_pump_init(&to_host);
	argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if ((rc = lab_ifname_check("--vm-if", venv.vm_if, err, sizeof(err))) ||
	    (rc = lab_ifname_check("--host-if", venv.host_if, err, sizeof(err))) ||
	    (rc = lab_netns_resolve("--vm-netns", venv.vm_netns, &vm_ns, err, sizeof(err))) ||
	    (rc = lab_netns_resolve("--host-netns", venv.host_netns, &host_ns, err, sizeof(err))))
		goto fail;
	if (vm_ns.ino == host_ns.ino && !strcmp(venv.vm_if, venv.host_if)) {
		snprintf(err, sizeof(err), "--vm-if and --host-if are both '%s' in one namespace",
			 venv.vm_if);
		rc = LAB_EXIT_USAGE;
		goto fail;
	}
	if ((rc = lab_privs_check(err, sizeof(err))))
		goto fail;
	out_setup(stdout, venv.json);
	if (venv.no_kvm) {
		fprintf(stderr,
			"netseg lab vmm-sim: --no-kvm: no KVM VM, the interrupt is a plain eventfd; "
			"the KVM stages (irqfd, kvm_msi_set_irq) will be missing\n");
		k.irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (k.irq_fd < 0) {
			snprintf(err, sizeof(err), "eventfd: %s", strerror(errno));
			rc = LAB_EXIT_RESOURCE;
			goto fail;
		}
	} else if ((rc = kvm_setup(&k, err, sizeof(err)))) {
		goto fail;
	}
	if ((rc = lab_tap_open(&vm_ns, venv.vm_if, venv.xmit_stamps, &vm_tap, err, sizeof(err))) ||
	    (rc = lab_tap_open(&host_ns, venv.host_if, venv.xmit_stamps, &host_tap, err, sizeof(err))))
		goto fail;
	if (lab_stop_install()) {
		snprintf(err, sizeof(err), "cannot install signal handlers: %s", strerror(errno));
		rc = LAB_EXIT_RESOURCE;
		goto fail;
	}

	to_vm.name = "to_vm";
	to_vm.thread_name = "vmm-to-vm";
	to_vm.in_fd = host_tap.fd;
	to_vm.out_fd = vm_tap.fd;
	to_vm.delay_ns = venv.delay_to_vm_us * 1000;
	to_vm.spin_ns = venv.delay_to_vm_us ? venv.spin_us * 1000 : 0;
	to_vm.signal_fd = k.irq_fd;
	to_host.name = "to_host";
	to_host.thread_name = "vmm-to-host";
	to_host.in_fd = vm_tap.fd;
	to_host.out_fd = host_tap.fd;
	to_host.delay_ns = venv.delay_to_host_us * 1000;
	to_host.spin_ns = venv.delay_to_host_us ? venv.spin_us * 1000 : 0;
	to_vm.stamp_fd = host_tap.stamp_fd;
	to_host.stamp_fd = vm_tap.stamp_fd;
	if (venv.xmit_stamps && host_tap.stamp_fd < 0)
		fprintf(stderr, "netseg lab vmm-sim: to_vm: timing frames from our read (%s)\n",
			host_tap.stamp_err);
	if (venv.xmit_stamps && vm_tap.stamp_fd < 0)
		fprintf(stderr, "netseg lab vmm-sim: to_host: timing frames from our read (%s)\n",
			vm_tap.stamp_err);
	to_vm.rt_prio = venv.rt_prio >= 0 ? venv.rt_prio : to_vm.delay_ns ? LAB_RT_PRIO_DELAYED : 0;
	to_host.rt_prio = venv.rt_prio >= 0 ? venv.rt_prio : to_host.delay_ns ? LAB_RT_PRIO_DELAYED : 0;
	if ((rc = -lab_pump_start(&to_vm, &th_vm))) {
		snprintf(err, sizeof(err), "cannot start a thread: %s", strerror(rc));
		rc = LAB_EXIT_RESOURCE;
		goto fail;
	}
	started_vm = true;
	if ((rc = -lab_pump_start(&to_host, &th_host))) {
		snprintf(err, sizeof(err), "cannot start a thread: %s", strerror(rc));
		rc = LAB_EXIT_RESOURCE;
		lab_stop_request();
		goto fail;
	}
	started_host = true;
	lab_rt_note("vmm-sim", &to_vm);
	lab_rt_note("vmm-sim", &to_host);

	/* ready: taps, VM and threads exist */
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, sizeof(err), "out of memory");
		rc = LAB_EXIT_RESOURCE;
		lab_stop_request();
		goto fail;
	}
	lab_tap_json(&vm_tap, vm_json, sizeof(vm_json));
	lab_tap_json(&host_tap, host_json, sizeof(host_json));
	lab_tap_text(&vm_tap, vm_text, sizeof(vm_text));
	lab_tap_text(&host_tap, host_text, sizeof(host_text));
	out_begin(r, "ready");
	out_str(r, "kind", NULL, "READY", OUT_TEXT_BARE | OUT_JSON_HIDE);
	out_str(r, "tool", NULL, "vmm-sim", OUT_TEXT_BARE);
	out_str(r, "version", NULL, NETSEG_VERSION, OUT_TEXT_HIDE);
	out_u64(r, "pid", NULL, (uint64_t)getpid(), 0);
	out_json(r, "vm_tap", vm_json, vm_text, 0);
	out_json(r, "host_tap", host_json, host_text, 0);
	out_bool(r, "kvm", NULL, k.kvm, 0);
	out_bool(r, "vcpu", NULL, k.vcpu, OUT_TEXT_HIDE);
	out_u64(r, "gsi", NULL, k.kvm ? VMM_GSI : 0, 0);
	out_u64(r, "msi_address", NULL, k.kvm ? VMM_MSI_ADDR : 0, OUT_TEXT_HIDE);
	out_u64(r, "msi_data", NULL, k.kvm ? VMM_MSI_DATA : 0, OUT_TEXT_HIDE);
	if (!k.kvm)
		out_str(r, "missing", NULL, "kvm stages (--no-kvm): irqfd_wakeup, kvm_msi_set_irq", 0);
	out_u64(r, "delay_us_to_vm", NULL, venv.delay_to_vm_us, 0);
	out_u64(r, "delay_us_to_host", NULL, venv.delay_to_host_us, 0);
	out_str(r, "t0_to_vm", NULL, to_vm.stamp_fd >= 0 ? "xmit" : "read", OUT_TEXT_HIDE);
	out_str(r, "t0_to_host", NULL, to_host.stamp_fd >= 0 ? "xmit" : "read", OUT_TEXT_HIDE);
	out_u64(r, "tid_to_vm", NULL, (uint64_t)to_vm.tid, 0);
	out_u64(r, "tid_to_host", NULL, (uint64_t)to_host.tid, 0);
	out_u64(r, "rt_prio_to_vm", NULL, (uint64_t)to_vm.rt_applied, OUT_TEXT_HIDE);
	out_u64(r, "rt_prio_to_host", NULL, (uint64_t)to_host.rt_applied, OUT_TEXT_HIDE);
	out_emit(r);
	out_flush();
	{
		char line[4096];

		out_render(r, true, line, sizeof(line));
		if ((rc = lab_write_ready("vmm-sim", venv.ready_file, line))) {
			lab_stop_request();
			err[0] = 0;
			goto fail;
		}
	}

	pthread_join(th_vm, NULL);
	pthread_join(th_host, NULL);
	started_vm = started_host = false;

	{
		char jv[4096], jh[4096], tv[1024], th[1024];

		lab_pump_json(&to_vm, jv, sizeof(jv));
		lab_pump_json(&to_host, jh, sizeof(jh));
		lab_pump_text(&to_vm, tv, sizeof(tv));
		lab_pump_text(&to_host, th, sizeof(th));
		out_begin(r, "summary");
		out_str(r, "kind", NULL, "SUMMARY", OUT_TEXT_BARE | OUT_JSON_HIDE);
		out_str(r, "tool", NULL, "vmm-sim", OUT_TEXT_BARE);
		out_u64(r, "pid", NULL, (uint64_t)getpid(), OUT_TEXT_HIDE);
		out_str(r, "ended_by", "ended-by", lab_ended_by(), 0);
		out_bool(r, "kvm", NULL, k.kvm, 0);
		out_u64(r, "frames_to_vm", NULL, to_vm.frames, OUT_TEXT_HIDE);
		out_u64(r, "frames_to_host", NULL, to_host.frames, OUT_TEXT_HIDE);
		out_u64(r, "irq_signals", NULL, to_vm.signals, 0);
		out_u64(r, "dropped", NULL, to_vm.dropped + to_host.dropped, 0);
		lab_out_json_labeled(r, "to_vm", "to_vm:", jv, tv);
		lab_out_json_labeled(r, "to_host", "to_host:", jh, th);
		out_emit(r);
		out_flush();
	}
	rc = (to_vm.fatal[0] || to_host.fatal[0]) ? LAB_EXIT_RESOURCE : 0;
	if (to_vm.fatal[0])
		fprintf(stderr, "netseg lab vmm-sim: to_vm: %s\n", to_vm.fatal);
	if (to_host.fatal[0])
		fprintf(stderr, "netseg lab vmm-sim: to_host: %s\n", to_host.fatal);
	goto cleanup;

fail:
	if (err[0])
		fprintf(stderr, "netseg lab vmm-sim: %s\n", err);
cleanup:
	if (started_vm)
		pthread_join(th_vm, NULL);
	if (started_host)
		pthread_join(th_host, NULL);
	lab_tap_close(&vm_tap);
	lab_tap_close(&host_tap);
	kvm_close(&k);
	lab_pump_free(&to_vm);
	lab_pump_free(&to_host);
	free(r);
	return rc;
}
