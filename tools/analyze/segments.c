// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The segment model per echo (../shared/spec/segments.md): each segment
 * from the log that measures it, the derived ones from differences of one
 * host's own durations (never across clocks), the identities the nesting
 * implies checked per echo, and then the statistics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"

const struct an_metric an_metrics[SEG_N] = {
	[SEG_A] = { "A", "VM-S: request, ICMP socket -> leaves VM-S's NIC", "sender-vm: kernel_icmp_rtt tx, Path 1", false },
	[SEG_B] = { "B", "HS: request received on vnet -> sent on phy", "sender-host: icmp_drop_detector, ReqInternal", false },
	[SEG_CJ] = { "C+J", "wire, both directions", "derived: HS External - HR Total", false },
	[SEG_D] = { "D", "HR: request received on phy -> sent on vnet", "receiver-host: icmp_drop_detector, ReqInternal", false },
	[SEG_E] = { "E", "HR: tap transmit of the request -> KVM interrupt into VM-R", "receiver-vhost: tun_tx_to_kvm_irq, first -> last stage", false },
	[SEG_F] = { "F", "VM-R: request received on NIC -> ICMP layer", "receiver-vm: kernel_icmp_rtt rx, Path 1", false },
	[SEG_G] = { "G", "VM-R: echo processing", "receiver-vm: kernel_icmp_rtt rx, Inter-Path", false },
	[SEG_H] = { "H", "VM-R: reply down the stack -> leaves VM-R's NIC", "receiver-vm: kernel_icmp_rtt rx, Path 2", false },
	[SEG_I] = { "I", "HR: reply received on vnet -> sent on phy", "receiver-host: icmp_drop_detector, RepInternal", false },
	[SEG_K] = { "K", "HS: reply received on phy -> sent on vnet", "sender-host: icmp_drop_detector, RepInternal", false },
	[SEG_L] = { "L", "HS: tap transmit of the reply -> KVM interrupt into VM-S", "sender-vhost: tun_tx_to_kvm_irq, first -> last stage", false },
	[SEG_M] = { "M", "VM-S: reply received on NIC -> ICMP socket", "sender-vm: kernel_icmp_rtt tx, Path 2", false },
	[SEG_C] = { "C", "wire, request direction (measured)", "lab, one clock: HR request rx on phy - HS request tx on phy", true },
	[SEG_J] = { "J", "wire, reply direction (measured)", "lab, one clock: HS reply rx on phy - HR reply tx on phy", true },
	[SEG_VIRT_RECV] = { "virt_unmeasured_receiver", "HR: guest interrupt -> VM-R NIC receive, VM-R reply -> tap (I_1)", "derived: HR External - (E + F + G + H)", false },
	[SEG_VIRT_SEND] = { "virt_unmeasured_sender", "HS: VM-S request -> tap (B_1), VM-S interrupt -> NIC receive", "derived: VM-S Inter-Path - HS Total - L", false },
	[SEG_RTT] = { "RTT", "VM-S: Total RTT", "sender-vm: kernel_icmp_rtt tx, Total RTT", false },
	[SEG_LAYER_VM] = { "vm_internal", "inside the VMs' kernels", "A + F + G + H + M", false },
	[SEG_LAYER_HOST] = { "host_internal", "inside the hosts' kernels", "B + D + I + K", false },
	[SEG_LAYER_WIRE] = { "wire", "between the hosts", "C + J", false },
	[SEG_LAYER_VIRT_MEASURED] = { "virt_measured", "tap -> guest interrupt, measured", "E + L", false },
	[SEG_LAYER_VIRT_UNMEASURED] = { "virt_unmeasured", "virtualization nothing measures", "RTT - the other layers", false },
};

#define ALL_ROLES ((1u << AN_N_ROLES) - 1)

/* Every metric of one echo (us); have[] says which could be computed. */
void an_echo_metrics(const struct an_echo *e, bool same_clock, double *m, bool *have)
{
	const double *v = e->v;
	bool all = (e->have & ALL_ROLES) == ALL_ROLES;

	for (int i = 0; i < SEG_N; i++)
		have[i] = false;
	if (!all)
		return;
	m[SEG_A] = v[V_A];
	m[SEG_M] = v[V_M];
	m[SEG_RTT] = v[V_RTT];
	m[SEG_F] = v[V_F];
	m[SEG_G] = v[V_G];
	m[SEG_H] = v[V_H];
	m[SEG_B] = v[V_B];
	m[SEG_K] = v[V_K];
	m[SEG_D] = v[V_D];
	m[SEG_I] = v[V_I];
	m[SEG_E] = v[V_E];
	m[SEG_L] = v[V_L];
	m[SEG_CJ] = v[V_HS_EXT] - v[V_HR_TOTAL];
	m[SEG_VIRT_RECV] = v[V_HR_EXT] - (v[V_E] + v[V_F] + v[V_G] + v[V_H]);
	m[SEG_VIRT_SEND] = v[V_S_INTER] - v[V_HS_TOTAL] - v[V_L];
	m[SEG_LAYER_VM] = m[SEG_A] + m[SEG_F] + m[SEG_G] + m[SEG_H] + m[SEG_M];
	m[SEG_LAYER_HOST] = m[SEG_B] + m[SEG_D] + m[SEG_I] + m[SEG_K];
	m[SEG_LAYER_WIRE] = m[SEG_CJ];
	m[SEG_LAYER_VIRT_MEASURED] = m[SEG_E] + m[SEG_L];
	m[SEG_LAYER_VIRT_UNMEASURED] = m[SEG_VIRT_RECV] + m[SEG_VIRT_SEND];
	for (int i = 0; i < SEG_N; i++)
		have[i] = !an_metrics[i].measured_lab_only;
	if (same_clock && e->hs_ts[1] && e->hr_ts[0] && e->hr_ts[3] && e->hs_ts[2]) {
		m[SEG_C] = (double)(int64_t)(e->hr_ts[0] - e->hs_ts[1]) / 1e3;
		m[SEG_J] = (double)(int64_t)(e->hs_ts[2] - e->hr_ts[3]) / 1e3;
		have[SEG_C] = have[SEG_J] = true;
	}
}

static const struct {
	const char *name, *formula;
} ident_defs[ID_N] = {
	[ID_SENDER_VM_SUM] = { "sender_vm_paths_sum", "A + Inter-Path + M = VM-S Total RTT" },
	[ID_RECEIVER_VM_SUM] = { "receiver_vm_paths_sum", "F + G + H = VM-R Total" },
	[ID_SENDER_HOST_SUM] = { "sender_host_sum", "B + HS External + K = HS Total" },
	[ID_RECEIVER_HOST_SUM] = { "receiver_host_sum", "D + HR External + I = HR Total" },
	[ID_WIRE_NONNEG] = { "receiver_host_inside_sender_external", "HR Total <= HS External (C + J >= 0)" },
	[ID_RECV_VIRT_NONNEG] = { "receiver_segments_inside_receiver_external", "E + F + G + H <= HR External" },
	[ID_SEND_VIRT_NONNEG] = { "sender_host_inside_sender_inter_path", "HS Total + L <= VM-S Inter-Path" },
	[ID_LAYERS_SUM] = { "layers_sum_to_rtt", "vm + host + wire + virt_measured + virt_unmeasured = RTT" },
	[ID_LAYERS_NONNEG] = { "layers_nonnegative", "every layer >= 0 (a negative one: the tools' stamps do not nest for that echo)" },
	[ID_CJ_MEASURED] = { "measured_wire_equals_derived", "lab: C + J measured = HS External - HR Total" },
};

/* |x - y| within the tolerance of an echo of this RTT */
static bool near(double x, double y, double tol)
{
	return fabs(x - y) <= tol;
}

static void check_identities(const struct an_echo *e, const double *m, const bool *have,
			     double tol, struct an_identity *id)
{
	const double *v = e->v;
	bool ok[ID_N];

	ok[ID_SENDER_VM_SUM] = near(v[V_A] + v[V_S_INTER] + v[V_M], v[V_RTT], tol);
	ok[ID_RECEIVER_VM_SUM] = near(v[V_F] + v[V_G] + v[V_H], v[V_R_TOTAL], tol);
	ok[ID_SENDER_HOST_SUM] = near(v[V_B] + v[V_HS_EXT] + v[V_K], v[V_HS_TOTAL], tol);
	ok[ID_RECEIVER_HOST_SUM] = near(v[V_D] + v[V_HR_EXT] + v[V_I], v[V_HR_TOTAL], tol);
	ok[ID_WIRE_NONNEG] = m[SEG_CJ] >= -tol;
	ok[ID_RECV_VIRT_NONNEG] = m[SEG_VIRT_RECV] >= -tol;
	ok[ID_SEND_VIRT_NONNEG] = m[SEG_VIRT_SEND] >= -tol;
	ok[ID_LAYERS_SUM] = near(m[SEG_LAYER_VM] + m[SEG_LAYER_HOST] + m[SEG_LAYER_WIRE] +
				 m[SEG_LAYER_VIRT_MEASURED] + m[SEG_LAYER_VIRT_UNMEASURED], m[SEG_RTT], tol);
	ok[ID_LAYERS_NONNEG] = true;
	for (int l = SEG_FIRST_LAYER; l < SEG_N; l++)
		if (m[l] < -tol)
			ok[ID_LAYERS_NONNEG] = false;
	ok[ID_CJ_MEASURED] = have[SEG_C] && near(m[SEG_C] + m[SEG_J], m[SEG_CJ], tol);
	for (int i = 0; i < ID_N; i++) {
		if (i == ID_CJ_MEASURED && !have[SEG_C])
			continue;
		id[i].of++;
		id[i].held += ok[i];
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* numpy's default: linear between the two closest ranks */
static double pct(const double *s, uint64_t n, double p)
{
	double r = p / 100.0 * (double)(n - 1);
	uint64_t lo = (uint64_t)r;

	if (lo + 1 >= n)
		return s[n - 1];
	return s[lo] + (s[lo + 1] - s[lo]) * (r - (double)lo);
}

static void aggregate(double *s, uint64_t n, struct an_agg *a)
{
	long double sum = 0;

	memset(a, 0, sizeof(*a));
	a->count = n;
	if (!n)
		return;
	qsort(s, n, sizeof(*s), cmp_double);
	for (uint64_t i = 0; i < n; i++)
		sum += s[i];
	a->min = s[0];
	a->max = s[n - 1];
	a->mean = (double)(sum / n);
	a->p50 = pct(s, n, 50);
	a->p90 = pct(s, n, 90);
	a->p99 = pct(s, n, 99);
}

void an_analyze(struct an_echo *echoes, uint64_t n, struct an_result *res)
{
	double *col[SEG_N], m[SEG_N], *rtts;
	uint64_t cnt[SEG_N] = {}, slow = 0, joined = 0;
	bool have[SEG_N];

	res->tolerance_pct = 2.0;
	res->tolerance_us = 2.0;
	for (int i = 0; i < ID_N; i++) {
		res->ident[i].name = ident_defs[i].name;
		res->ident[i].formula = ident_defs[i].formula;
	}
	for (int i = 0; i < SEG_N; i++)
		col[i] = calloc(n ? n : 1, sizeof(double));
	rtts = calloc(n ? n : 1, sizeof(double));
	for (uint64_t i = 0; i < n; i++) {
		const struct an_echo *e = &echoes[i];
		double tol;

		an_echo_metrics(e, res->same_clock, m, have);
		if (!have[SEG_RTT])
			continue;
		tol = fmax(res->tolerance_us, res->tolerance_pct / 100.0 * fabs(m[SEG_RTT]));
		check_identities(e, m, have, tol, res->ident);
		for (int k = 0; k < SEG_N; k++)
			if (have[k] && col[k])
				col[k][cnt[k]++] = m[k];
		if (rtts)
			rtts[joined] = m[SEG_RTT];
		joined++;
		if (!res->have_slowest || m[SEG_RTT] > res->slowest.v[V_RTT]) {
			res->slowest = *e;
			res->have_slowest = true;
			slow = i;
		}
	}
	(void)slow;
	res->joined = joined;
	for (int k = 0; k < SEG_N; k++) {
		if (col[k])
			aggregate(col[k], cnt[k], &res->agg[k]);
		free(col[k]);
	}
	for (int k = SEG_FIRST_LAYER; k < SEG_N; k++)
		res->agg[k].share_pct = res->agg[SEG_RTT].mean ? 100.0 * res->agg[k].mean /
							       res->agg[SEG_RTT].mean : 0;
	/* the median echo: the joined one whose RTT is nearest the median */
	if (joined && rtts) {
		double best = INFINITY, best99 = INFINITY, med = res->agg[SEG_RTT].p50;
		double p99 = res->agg[SEG_RTT].p99;

		for (uint64_t i = 0; i < n; i++) {
			an_echo_metrics(&echoes[i], res->same_clock, m, have);
			if (!have[SEG_RTT])
				continue;
			if (fabs(m[SEG_RTT] - med) < best) {
				best = fabs(m[SEG_RTT] - med);
				res->median = echoes[i];
			}
			if (fabs(m[SEG_RTT] - p99) < best99) {
				best99 = fabs(m[SEG_RTT] - p99);
				res->p99 = echoes[i];
			}
		}
	}
	free(rtts);
}
