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
#include "lab_link.h"
#include "lib/cli.h"
#include "lib/output.h"
#include "lib/tracer.h"

#define VMM_GSI 24
#define VMM_MSI_ADDR 0xfee00000u  /* LAPIC of APIC id 0 */
#define VMM_MSI_DATA 0x4041u      /* fixed delivery, vector 0x41 */

static struct vmm_env {
	const char *vm_netns, *vm_if, *host_netns, *host_if;
	uint64_t delay_to_vm_us, delay_to_host_us;
	bool no_kvm;
} venv = { .vm_if = "eth0", .host_if = "vnet0" };

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
	{ "no-kvm", OPT_NO_KVM, NULL, 0,
	  "no KVM VM: the interrupt is a plain eventfd and the KVM stages will be missing", 0 },
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
	case OPT_NO_KVM:
		venv.no_kvm = true;
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
	static const struct argp_child children[] = { { &lab_link_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { vmm_opts, vmm_parse, NULL, vmm_doc, children, NULL, NULL };
	static struct lab_link l;
	struct vmm_kvm k = { -1, -1, -1, -1, false, false };
	/* a = the host's tap, b = the VM's: a->b is toward the VM and signals */
	struct lab_link_cfg c = {
		.tool = "vmm-sim",
		.a_ns_opt = "--host-netns", .a_if_opt = "--host-if",
		.b_ns_opt = "--vm-netns", .b_if_opt = "--vm-if",
		.a_key = "host_tap", .b_key = "vm_tap",
		.ab_name = "to_vm", .ba_name = "to_host",
		.ab_thread = "vmm-to-vm", .ba_thread = "vmm-to-host",
		.spin_undelayed = false,
	};
	char err[512] = "";
	struct out_rec *r = &l.rec;
	int rc;

	cli_set_tool("netseg lab vmm-sim");
	lab_link_init(&l);
	/* toward a VM the wake-up is part of what a tracer measures: time from the read */
	lab_link_opts.xmit_stamps = false;
	argp_parse(&argp, argc, argv, 0, NULL, NULL);
	c.a_ns = venv.host_netns;
	c.a_if = venv.host_if;
	c.b_ns = venv.vm_netns;
	c.b_if = venv.vm_if;
	c.ab_delay_us = venv.delay_to_vm_us;
	c.ba_delay_us = venv.delay_to_host_us;
	if ((rc = lab_link_check(&c, &l, err, sizeof(err))))
		goto fail;
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
	c.ab_signal_fd = k.irq_fd;
	if ((rc = lab_link_start(&c, &l, err, sizeof(err))))
		goto fail;

	/* ready: taps, VM and threads exist */
	lab_link_ready_begin(&c, &l, r);
	out_bool(r, "kvm", NULL, k.kvm, 0);
	out_bool(r, "vcpu", NULL, k.vcpu, OUT_TEXT_HIDE);
	out_u64(r, "gsi", NULL, k.kvm ? VMM_GSI : 0, 0);
	out_u64(r, "msi_address", NULL, k.kvm ? VMM_MSI_ADDR : 0, OUT_TEXT_HIDE);
	out_u64(r, "msi_data", NULL, k.kvm ? VMM_MSI_DATA : 0, OUT_TEXT_HIDE);
	if (!k.kvm)
		out_str(r, "missing", NULL, "kvm stages (--no-kvm): irqfd_wakeup, kvm_msi_set_irq", 0);
	if ((rc = lab_link_ready_end(&c, &l, r)))
		goto cleanup;

	lab_link_wait(&l);
	lab_link_summary_begin(&c, r);
	out_bool(r, "kvm", NULL, k.kvm, 0);
	out_u64(r, "frames_to_vm", NULL, l.ab.frames, OUT_TEXT_HIDE);
	out_u64(r, "frames_to_host", NULL, l.ba.frames, OUT_TEXT_HIDE);
	out_u64(r, "irq_signals", NULL, l.ab.signals, 0);
	lab_link_summary_end(&l, r);
	rc = lab_link_status(&c, &l);
	goto cleanup;

fail:
	if (err[0])
		fprintf(stderr, "netseg lab vmm-sim: %s\n", err);
cleanup:
	lab_link_close(&l);
	kvm_close(&k);
	return rc;
}
