# Set "doctor": what netseg doctor reports inside Debian's 6.1 or 5.10 kernel,
# where fentry and kprobes exist (the host kernel has neither). Module BTF
# (CONFIG_DEBUG_INFO_BTF_MODULES) exists from 5.11 on: 6.1 has vhost_net's,
# 5.10 only vmlinux BTF, and there doctor must report none.
# tests: doctor_reports_fentry_and_kprobe_available doctor_picks_fentry_where_pktwatch_offers_it doctor_sees_vhost_net_and_module_btf
# shellcheck shell=sh
. /vmtest/lib.sh

if ! netseg doctor --json >"$T/doctor.json" 2>"$T/doctor.err"; then
	# doctor exits 1 when a tracer cannot run; the JSON is still there
	[ -s "$T/doctor.json" ] || show "$T/doctor.err"
fi
if ! jq -e . "$T/doctor.json" >/dev/null 2>&1; then
	why="netseg doctor --json printed no JSON: $(head -c 200 "$T/doctor.err")"
	fail doctor_reports_fentry_and_kprobe_available "$why"
	fail doctor_picks_fentry_where_pktwatch_offers_it "$why"
	fail doctor_sees_vhost_net_and_module_btf "$why"
	exit 0
fi

fam=$(jq -r '[.families.fentry.available, .families.kprobe.available, .families.tp_btf.available] | map(tostring) | join(" ")' "$T/doctor.json")
if [ "$fam" = "true true true" ]; then
	pass doctor_reports_fentry_and_kprobe_available
else
	fail doctor_reports_fentry_and_kprobe_available "fentry kprobe tp_btf available = [$fam]: $(jq -c .families "$T/doctor.json")"
fi

# what doctor plans is what pktwatch will do: a stage that offers fentry must
# get it here; one that offers only tracepoints (recv) its first working hook
stages=$(jq -r '.tracers[] | select(.tool=="pktwatch") | .stages[] | "\(.stage)=\(.tier)"' "$T/doctor.json" | tr '\n' ' ')
want=$(jq -r '.tracers[] | select(.tool=="pktwatch") | .stages[] |
	"\(.stage)=\(if any(.hooks[]; .tier=="fentry") then "fentry" else ([.hooks[] | select(.available) | .tier][0] // "unavailable") end)"' \
	"$T/doctor.json" | tr '\n' ' ')
if [ -n "$stages" ] && [ "$stages" = "$want" ] && echo "$stages" | grep -q 'xmit=fentry .*l4=fentry'; then
	pass doctor_picks_fentry_where_pktwatch_offers_it
else
	fail doctor_picks_fentry_where_pktwatch_offers_it "pktwatch stages [$stages], want [$want] with fentry for xmit and l4"
fi

dev=$(jq -r '[.devices.vhost_net, .devices.tun, .btf_vmlinux, ((.btf_modules // []) | index("vhost_net") != null)] | map(tostring) | join(" ")' "$T/doctor.json")
kv=$(uname -r)
kmaj=${kv%%.*} kmin=${kv#*.}
kmin=${kmin%%.*}
if [ "$kmaj" -gt 5 ] || { [ "$kmaj" -eq 5 ] && [ "$kmin" -ge 11 ]; }; then
	modbtf=true
else
	modbtf=false # 5.10: vmlinux BTF only (no /sys/kernel/btf/<module>)
fi
if [ "$dev" = "true true true $modbtf" ]; then
	pass doctor_sees_vhost_net_and_module_btf
else
	fail doctor_sees_vhost_net_and_module_btf "vhost_net tun btf_vmlinux vhost_net-module-BTF = [$dev], want [true true true $modbtf] on $kv; btf_modules=$(jq -c .btf_modules "$T/doctor.json")"
fi
rm -rf "$T"
