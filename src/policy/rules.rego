# Kata agent policy rules written for `contrast` (Apache-2.0).
#
# Evaluated by the Kata agent (regorus, Rego v0 with future keywords) for every agent API request:
# the agent queries data.agent_policy.<RequestType> with the request as `input`. `policy_data`
# (appended below these rules by the generator) describes what the pod's containers may look like;
# its schema is genpolicy's (see src/policy/README.md for the value conventions):
#   - a policy string starting with "^" is an anchored regular expression (annotations, mount
#     sources, storage fields); other strings compare exactly;
#   - a process argument or environment entry containing "$(" is a template: literal parts are
#     regex-escaped and placeholders such as $(pod-ip) stand for request-time values;
#   - $(default_caps) / $(privileged_caps) stand for the capability lists in policy_data.common.
#
# State: the agent starts every policy with the data document {"pstate": {}} and applies the
# JSON-patch operations of allowed {"allowed": true, "ops": [...]} results to it. CreateSandboxRequest
# records that the sandbox exists; CreateContainerRequest records the pod identity (sandbox name,
# namespace and id, from the first container admitted) and which policy container each container id was
# admitted as; RemoveContainerRequest forgets a container. Later requests are checked against that
# record. What has been recorded is read from pstate's keys, never from pstate itself: {} is a
# defined value. A data document without pstate is treated as an empty record.

package agent_policy

import future.keywords.every
import future.keywords.if
import future.keywords.in

default AddARPNeighborsRequest := false
default AddSwapPathRequest := false
default AddSwapRequest := false
default AllowRequestsFailingPolicy := false
default CloseStdinRequest := false
default CopyFileRequest := false
default CreateContainerRequest := {"allowed": false}
default CreateSandboxRequest := {"allowed": false}
default DestroySandboxRequest := true
default ExecProcessRequest := false
default GetMetricsRequest := false
default GetIPTablesRequest := false
default GetDiagnosticDataRequest := false
default GetOOMEventRequest := true
default GuestDetailsRequest := true
default ListInterfacesRequest := false
default ListRoutesRequest := false
default MemAgentCompactConfig := false
default MemAgentMemcgConfig := false
default MemHotplugByProbeRequest := false
default OnlineCPUMemRequest := true
default PauseContainerRequest := false
default PullImageRequest := false
default ReadStreamRequest := false
default RemoveContainerRequest := true
default RemoveStaleVirtiofsShareMountsRequest := true
default ReseedRandomDevRequest := false
default ResizeVolumeRequest := false
default ResumeContainerRequest := false
default SetGuestDateTimeRequest := false
default SetIPTablesRequest := false
default SetPolicyRequest := false
default SignalProcessRequest := true
default StartContainerRequest := true
default StartTracingRequest := false
default StatsContainerRequest := true
default StopTracingRequest := false
default TtyWinResizeRequest := true
default UpdateContainerRequest := false
default UpdateEphemeralMountsRequest := false
default UpdateInterfaceRequest := false
default UpdateRoutesRequest := false
default VolumeStatsRequest := false
default WaitProcessRequest := true
default WriteStreamRequest := false

######################################################################
# Agent state (data.pstate)

# The first admitted CreateContainerRequest has fixed the pod identity.
pod_recorded if is_string(data.pstate.sandbox_id)

sandbox_created if data.pstate.sandbox_created == true

container_recorded(id) if _ = data.pstate.containers[id]

# JSON-patch ops setting keys of pstate; they create pstate when the data document has none (an
# "add" of a key needs its parent object to exist).
set_state_ops(values) := [{"op": "add", "path": "/pstate", "value": values}] if not is_object(data.pstate)

set_state_ops(values) := [{"op": "add", "path": concat("/", ["", "pstate", k]), "value": v} | some k, v in values] if is_object(data.pstate)

######################################################################
# Generic helpers

empty(x) if x == null

empty(x) if {
	x != null
	count(x) == 0
}

list_or_empty(x) := x if is_array(x)

list_or_empty(x) := [] if not is_array(x)

object_or_empty(x) := x if is_object(x)

object_or_empty(x) := {} if not is_object(x)

matches_any(patterns, s) if {
	some p in patterns
	regex.match(p, s)
}

# A string that matches none of the patterns. Deny-lists use this, not `not matches_any(...)` alone:
# that also holds when the request lacks the field (undefined), which would skip the check.
none_match(patterns, s) if {
	is_string(s)
	not matches_any(patterns, s)
}

same_set(a, b) if {
	{x | some x in list_or_empty(a)} == {x | some x in list_or_empty(b)}
}

# Kubernetes names and namespaces may contain "." (the only regex metacharacter they can hold).
regex_quote(s) := replace(s, ".", "\\.")

common_value(key, fallback) := object.get(policy_data.common, key, fallback)

ip_regex := concat("", ["(", common_value("ipv4_a", "[0-9.]+"), "|[0-9a-fA-F:]+)"])

dns_label_regex := common_value("dns_label", "[a-zA-Z0-9_.-]+")

# Replaces placeholders with request values (literal) or regex fragments (request-time unknowns).
subst(s, ctx) := r if {
	s1 := replace(s, "$(root_path)", common_value("root_path", "$(cpath)/$(bundle-id)"))
	s2 := replace(s1, "$(sfprefix)", policy_data.common.sfprefix)
	s3 := replace(s2, "$(cpath)", policy_data.common.cpath)
	s4 := replace(s3, "$(bundle-id)", ctx.bundle_id)
	s5 := replace(s4, "$(sandbox-id)", ctx.sandbox_id)
	s6 := replace(s5, "$(sandbox-name)", regex_quote(ctx.sandbox_name))
	s7 := replace(s6, "$(sandbox-namespace)", regex_quote(ctx.namespace))
	s8 := replace(s7, "$(host-name)", dns_label_regex)
	s9 := replace(s8, "$(node-name)", dns_label_regex)
	s10 := replace(s9, "$(pod-ip)", ip_regex)
	s11 := replace(s10, "$(host-ip)", ip_regex)
	s12 := replace(s11, "$(pod-uid)", "[a-f0-9-]+")
	s13 := replace(s12, "$(resource-field)", "[0-9a-zA-Z.]+")
	s14 := replace(s13, "$(todo-annotation)", ".*")
	s15 := replace(s14, "$(dns_label)", dns_label_regex)
	s15b := replace(s15, "$(svc_name_downward_env)", common_value("svc_name_downward_env", "[A-Z](?:[A-Z0-9_]{0,61}[A-Z0-9])?"))
	s16 := replace(s15b, "$(svc_name)", common_value("svc_name", "[A-Z_][A-Z0-9_]*"))
	s16b := replace(s16, "$(spath)", common_value("spath", "/run/kata-containers/sandbox/storage"))
	s17 := replace(s16b, "$(ipv4_a)", common_value("ipv4_a", "[0-9.]+"))
	s18 := replace(s17, "$(ip_p)", common_value("ip_p", "[0-9]{1,5}"))
	r := replace(s18, "$(job-completion-index)", "[0-9]+")
}

# Exact value, or an anchored regex when the policy value starts with "^".
value_allowed(p, i, ctx) if p == i

value_allowed(p, i, ctx) if {
	p != i
	startswith(p, "^")
	regex.match(subst(p, ctx), i)
}

# A value with placeholders but no "^" (genpolicy's settings write the bundle path so): the
# placeholders take the request's literal values and the result must be equal.
value_allowed(p, i, ctx) if {
	p != i
	not startswith(p, "^")
	contains(p, "$(")
	replace(replace(p, "$(bundle-id)", ctx.bundle_id), "$(sandbox-id)", ctx.sandbox_id) == i
}

# Exact value, or a template (literal parts escaped by the generator) when it holds "$(".
template_allowed(p, i, ctx) if p == i

template_allowed(p, i, ctx) if {
	p != i
	contains(p, "$(")
	regex.match(concat("", ["^", subst(p, ctx), "$"]), i)
}

######################################################################
# CreateContainerRequest

CreateContainerRequest := {"allowed": true, "ops": ops} if {
	no_forbidden_fields
	anno := input.OCI.Annotations
	bundle_id := bundle_id_of(input)

	# The agent's own container id alphabet (no "/", so no path tricks in the substituted paths).
	regex.match("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", bundle_id)
	ctx := {
		"bundle_id": bundle_id,
		"sandbox_id": anno["io.kubernetes.cri.sandbox-id"],
		"sandbox_name": anno["io.kubernetes.cri.sandbox-name"],
		"namespace": anno["io.kubernetes.cri.sandbox-namespace"],
	}
	state_allows_container(ctx)
	matches := {idx | some idx, p in policy_data.containers; container_allowed(p, ctx)}
	count(matches) > 0
	ops := create_container_ops(min(matches), ctx)
}

# The runtime names the container's bundle after its id (bundle_path annotation
# /run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>); paths are checked against that id,
# as genpolicy's rules do. Requests without the annotation use the container id.
bundle_id_of(req) := id if {
	path := req.OCI.Annotations["io.katacontainers.pkg.oci.bundle_path"]
	parts := split(path, "/")
	id := parts[count(parts) - 1]
}

bundle_id_of(req) := req.container_id if not req.OCI.Annotations["io.katacontainers.pkg.oci.bundle_path"]

# The first container admitted fixes the pod identity (sandbox name, namespace and id), whichever
# container it is: the runtime creates the pause container first, but a host that starts with an app
# container gains nothing (it must still match a policy container, and every later container, the
# pause container included, must agree with the identity it recorded). genpolicy's rules record name
# and namespace from the first container too. The pause container's own id is not tied to the
# sandbox id: its paths are checked against its own (bundle) id, so another id lets the host place
# nothing elsewhere (src/policy/README.md, "Where we are stricter than genpolicy's suite").
state_allows_container(ctx) if not pod_recorded

state_allows_container(ctx) if {
	pod_recorded
	s := data.pstate
	s.sandbox_name == ctx.sandbox_name
	s.namespace == ctx.namespace
	s.sandbox_id == ctx.sandbox_id
	not container_recorded(input.container_id)
}

create_container_ops(idx, ctx) := ops if {
	not pod_recorded
	ops := set_state_ops({
		"sandbox_name": ctx.sandbox_name,
		"namespace": ctx.namespace,
		"sandbox_id": ctx.sandbox_id,
		"containers": {input.container_id: idx},
	})
}

create_container_ops(idx, ctx) := ops if {
	pod_recorded
	ops := [{"op": "add", "path": concat("/", ["", "pstate", "containers", input.container_id]), "value": idx}]
}

# OCI and agent fields no generated container uses: their presence means the host asks for more.
no_forbidden_fields if {
	object.get(input, "string_user", null) == null
	empty(object.get(input, "shared_mounts", []))
	oci := input.OCI
	object.get(oci, "Hooks", null) == null
	object.get(oci, "Solaris", null) == null
	object.get(oci, "Windows", null) == null
	linux := object_or_empty(object.get(oci, "Linux", {}))
	empty(object.get(linux, "UIDMappings", []))
	empty(object.get(linux, "GIDMappings", []))
	object.get(linux, "MountLabel", "") == ""
	object.get(linux, "RootfsPropagation", "") == ""
	object.get(linux, "IntelRdt", null) == null
	object.get(linux, "Seccomp", null) == null
	res := object_or_empty(object.get(linux, "Resources", {}))
	empty(object.get(res, "Devices", []))
	object.get(res, "BlockIO", null) == null
	object.get(res, "Network", null) == null
	object.get(res, "Pids", null) == null
	proc := oci.Process
	object.get(proc, "SelinuxLabel", "") == ""
	object.get(proc.User, "Username", "") == ""
}

container_allowed(p, ctx) if {
	p_oci := p.OCI
	i_oci := input.OCI
	p.sandbox_pidns == object.get(input, "sandbox_pidns", false)
	p_oci.Root.Readonly == i_oci.Root.Readonly
	subst(p_oci.Root.Path, ctx) == i_oci.Root.Path
	annotations_allowed(p, p_oci.Annotations, i_oci.Annotations, ctx)
	process_allowed(p_oci.Process, i_oci.Process, ctx)
	mounts_allowed(list_or_empty(object.get(p_oci, "Mounts", [])), list_or_empty(i_oci.Mounts), ctx)
	storages_allowed(p, list_or_empty(input.storages), ctx)
	devices_allowed(p, list_or_empty(object.get(input, "devices", [])))
	linux_allowed(p_oci.Linux, i_oci.Linux)
}

# --- annotations

identity_annotations := ["io.kubernetes.cri.sandbox-name", "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.cri.container-type"]

annotations_allowed_if_present := ["io.kubernetes.cri.container-name", "io.kubernetes.cri.sandbox-id"]

# io.kubernetes.cri.* keys whose value says which pod, container or image this is: checked against
# the policy. Every other io.kubernetes.cri.* key (resources, log directory, containerd 2.x's
# podsandbox.image-name, ...) is informational and accepted, as genpolicy's rules do.
cri_identity_keys := {
	"io.kubernetes.cri.sandbox-name",
	"io.kubernetes.cri.sandbox-namespace",
	"io.kubernetes.cri.sandbox-id",
	"io.kubernetes.cri.container-type",
	"io.kubernetes.cri.container-name",
	"io.kubernetes.cri.image-name",
}

image_name_key := "io.kubernetes.cri.image-name"

default_extra_annotation_keys := [
	"^io\\.kubernetes\\.cri\\.sandbox-(memory|cpu-period|cpu-quota|cpu-shares|uid)$",
	"^io\\.kubernetes\\.cri\\.sandbox-log-directory$",
]

annotations_allowed(p, p_anno, i_anno, ctx) if {
	every key in identity_annotations {
		identity_allowed(key, p_anno[key], i_anno[key], ctx)
	}
	every key in annotations_allowed_if_present {
		annotation_in_policy_is_present(key, p_anno, i_anno, ctx)
	}
	image_name_allowed(p, p_anno, i_anno)
	sandbox_netns_allowed(p_anno, i_anno)
	every key, value in i_anno {
		request_annotation_allowed(p, key, value, p_anno, ctx)
	}
}

request_annotation_allowed(p, key, value, p_anno, ctx) if annotation_allowed(key, value, p_anno, ctx)

# Annotations the runtime may add, by key and value pattern (GPU CDI annotations, kubelet's
# termination message settings), as genpolicy's runtime_anno_patterns.
request_annotation_allowed(p, key, value, p_anno, ctx) if {
	not p_anno[key]
	some key_regex, value_regex in object_or_empty(object.get(p, "runtime_anno_patterns", {}))
	regex.match(key_regex, key)
	regex.match(value_regex, value)
}

identity_allowed(key, p, i, ctx) if value_allowed(p, i, ctx)

# A pod whose YAML names no namespace runs in whichever namespace it is applied to (genpolicy
# writes "" and records the first container's namespace); the agent state then keeps every later
# container of the pod in that namespace.
identity_allowed(key, p, i, ctx) if {
	key == "io.kubernetes.cri.sandbox-namespace"
	p == ""
	is_string(i)
	i != ""
}

annotation_in_policy_is_present(key, p_anno, i_anno, ctx) if not p_anno[key]

# The pause container joins the pod's network namespace, named by containerd's
# nerdctl/network-namespace annotation; when the policy names it, the request must carry it.
netns_key := "nerdctl/network-namespace"

sandbox_netns_allowed(p_anno, i_anno) if not p_anno[netns_key]

sandbox_netns_allowed(p_anno, i_anno) if regex.match(p_anno[netns_key], i_anno[netns_key])

annotation_in_policy_is_present(key, p_anno, i_anno, ctx) if value_allowed(p_anno[key], i_anno[key], ctx)

# The image name containerd reports (as it resolved it: repo@sha256:D for a YAML repo:tag@sha256:D)
# must name the pinned image when the request carries it; the image itself is pinned by the storage.
image_name_allowed(p, p_anno, i_anno) if not i_anno[image_name_key]

image_name_allowed(p, p_anno, i_anno) if p_anno[image_name_key] == i_anno[image_name_key]

image_name_allowed(p, p_anno, i_anno) if {
	p_anno[image_name_key] != i_anno[image_name_key]
	image_ref_allowed(object.get(p, "image_guest_pull", {}), i_anno[image_name_key])
}

annotation_allowed(key, value, p_anno, ctx) if value_allowed(p_anno[key], value, ctx)

annotation_allowed(key, value, p_anno, ctx) if identity_allowed(key, p_anno[key], value, ctx)

annotation_allowed(key, value, p_anno, ctx) if key == image_name_key

annotation_allowed(key, value, p_anno, ctx) if {
	not p_anno[key]
	matches_any(common_value("extra_annotation_keys", default_extra_annotation_keys), key)
}

annotation_allowed(key, value, p_anno, ctx) if {
	not p_anno[key]
	startswith(key, "io.kubernetes.cri.")
	not key in cri_identity_keys
}

# --- process

process_allowed(p, i, ctx) if {
	p.Terminal == i.Terminal
	p.Cwd == i.Cwd
	p.NoNewPrivileges == i.NoNewPrivileges
	user_allowed(p.User, i.User)
	args_allowed(list_or_empty(p.Args), list_or_empty(i.Args), ctx)
	env_allowed(list_or_empty(object.get(p, "Env", [])), list_or_empty(i.Env), ctx)
	caps_allowed(p.Capabilities, i.Capabilities)
}

user_allowed(p, i) if {
	p.UID == i.UID
	p.GID == i.GID
	same_set(p.AdditionalGids, i.AdditionalGids)
	object.get(i, "Username", "") == ""
}

args_allowed(p_args, i_args, ctx) if {
	count(p_args) == count(i_args)
	every k, a in i_args {
		template_allowed(p_args[k], a, ctx)
	}
}

env_allowed(p_env, i_env, ctx) if {
	every e in i_env {
		env_var_allowed(e, p_env, ctx)
	}
}

env_var_allowed(e, p_env, ctx) if e in p_env

env_var_allowed(e, p_env, ctx) if {
	not e in p_env
	some p in p_env
	contains(p, "$(")
	template_allowed(p, e, ctx)
}

env_var_allowed(e, p_env, ctx) if {
	not e in p_env
	some r in policy_data.request_defaults.CreateContainerRequest.allow_env_regex
	regex.match(subst(r, ctx), e)
}

cap_sets := ["Ambient", "Bounding", "Effective", "Inheritable", "Permitted"]

caps_allowed(p, i) if {
	every k in cap_sets {
		expand_caps(object.get(p, k, [])) == {c | some c in list_or_empty(object.get(i, k, []))}
	}
}

expand_caps(list) := {c | some x in list_or_empty(list); some c in expand_cap(x)}

expand_cap(x) := policy_data.common.default_caps if x == "$(default_caps)"

expand_cap(x) := policy_data.common.privileged_caps if x == "$(privileged_caps)"

expand_cap(x) := [x] if not x in {"$(default_caps)", "$(privileged_caps)"}

# --- mounts: every requested mount must be one the policy lists (by destination), nothing twice

mounts_allowed(p_mounts, i_mounts, ctx) if {
	count({m.destination | some m in i_mounts}) == count(i_mounts)
	every i in i_mounts {
		# destination first: it picks the one candidate without a call per listed mount
		some p in p_mounts
		p.destination == i.destination
		mount_allowed(p, i, ctx)
	}
}

mount_allowed(p, i, ctx) if {
	p.destination == i.destination
	p.type_ == i.type_
	mount_options_allowed(p, i)
	source_allowed(p.source, i.source, ctx)
}

mount_options_allowed(p, i) if same_set(p.options, i.options)

# containerd >= 2.2.3 with cgroup v2 adds nsdelegate / memory_recursiveprot to /sys/fs/cgroup
# (genpolicy testdata createcontainer/cgroup_mount_extras): the listed options plus only those.
mount_options_allowed(p, i) if {
	p.destination == "/sys/fs/cgroup"
	not same_set(p.options, i.options)
	extras := {o | some o in list_or_empty(policy_data.cluster_config.cgroup_mount_extras_allowed)}
	p_opts := {o | some o in list_or_empty(p.options)}
	i_opts := {o | some o in list_or_empty(i.options)}
	count(p_opts - i_opts) == 0
	count((i_opts - p_opts) - extras) == 0
}

# containerd >= 2.0.4 mounts the pause container's /sys read-write when a container of the pod is
# privileged; the generator then lists both forms (sys_rw_or_ro).
mount_options_allowed(p, i) if {
	p.destination == "/sys"
	object.get(p, "sys_rw_or_ro", false) == true
	{o | some o in list_or_empty(p.options); o != "ro"; o != "rw"} == {o | some o in list_or_empty(i.options); o != "ro"; o != "rw"}
	count({o | some o in list_or_empty(i.options); o in {"ro", "rw"}}) == 1
}

source_allowed(p, i, ctx) if p == i

source_allowed(p, i, ctx) if {
	p != i
	regex.match(subst(p, ctx), i)
}

# --- storages

image_storage(s) if s.fstype == "tar"

image_storage(s) if s.fstype == "fuse3.kata-overlay"

image_storage(s) if s.driver == "image_guest_pull"

storages_allowed(p, i_storages, ctx) if {
	p_storages := list_or_empty(p.storages)
	image_storages_allowed(p, p_storages, i_storages, ctx)
	i_other := [s | some s in i_storages; not image_storage(s)]
	p_other := [s | some s in p_storages; not image_storage(s)]
	count({s.mount_point | some s in i_other}) == count(i_other)
	every s in i_other {
		some ps in p_other
		storage_allowed(ps, s, ctx)
	}
}

# A hot-plugged disk (block emptyDir): virtio-blk (PCI path) or SCSI (address), mounted where the
# agent puts it, $(spath)/<base64url of the address> (genpolicy rules allow_mount_point_by_device_id).
storage_allowed(p, i, ctx) if {
	p.mount_point == "$(spath)/$(b64_device_id)"
	block_device_source(i.driver, i.source)
	p.fstype == i.fstype
	same_set(p.options, i.options)
	same_set(object.get(p, "driver_options", []), object.get(i, "driver_options", []))
	object.get(p, "fs_group", null) == object.get(i, "fs_group", null)
	object.get(p, "shared", false) == object.get(i, "shared", false)
	i.mount_point == concat("/", [policy_data.common.spath, base64url.encode(i.source)])
}

block_device_source(driver, source) if {
	driver == "blk"
	regex.match("^[0-9a-f]{2}(/[0-9a-f]{2})?$", source)
}

block_device_source(driver, source) if {
	driver == "scsi"
	regex.match("^[0-9]+:[0-9]+$", source)
}

storage_allowed(p, i, ctx) if {
	p.driver == i.driver
	p.fstype == i.fstype
	same_set(p.options, i.options)
	same_set(object.get(p, "driver_options", []), object.get(i, "driver_options", []))
	value_or_regex(p.source, i.source, ctx)
	value_or_regex(p.mount_point, i.mount_point, ctx)
}

value_or_regex(p, i, ctx) if p == i

value_or_regex(p, i, ctx) if {
	p != i
	regex.match(subst(p, ctx), i)
}

# Host pull (tardev snapshotter): one dm-verity protected tar layer per image layer, top layer
# first, each with the root hash the policy lists, plus one overlay combining exactly those layers.
image_storages_allowed(p, p_storages, i_storages, ctx) if {
	p_overlays := [s | some s in p_storages; s.fstype == "fuse3.kata-overlay"]
	count(p_overlays) == 1
	hashes := split(p_overlays[0].options[1], ":")
	i_layers := [s | some s in i_storages; s.fstype == "tar"]
	i_overlays := [s | some s in i_storages; s.fstype == "fuse3.kata-overlay"]
	count([s | some s in i_storages; s.driver == "image_guest_pull"]) == 0
	count(i_overlays) == 1
	count(i_layers) == count(hashes)
	count(i_layers) == count([s | some s in p_storages; s.fstype == "tar"])
	names := [layer_name(s) | some s in i_layers]
	every k, s in i_layers {
		layer_storage_allowed(s, hashes[k])
	}
	overlay_allowed(i_overlays[0], names, hashes, ctx)
}

layers_dir := "/run/kata-containers/sandbox/layers/"

layer_name(s) := trim_prefix(s.mount_point, layers_dir)

layer_options(name, hash) := [
	"ro",
	"io.katacontainers.fs-opt.block_device=file",
	"io.katacontainers.fs-opt.is-layer",
	concat("", ["io.katacontainers.fs-opt.root-hash=", hash]),
]

layer_storage_allowed(s, hash) if {
	s.driver == "blk"
	startswith(s.mount_point, layers_dir)
	regex.match("^[a-f0-9]{64}$", layer_name(s))
	same_set(s.options, layer_options(layer_name(s), hash))
}

overlay_allowed(ov, names, hashes, ctx) if {
	ov.driver == "overlayfs"
	ov.mount_point == concat("/", [policy_data.common.cpath, ctx.bundle_id])
	opts := list_or_empty(ov.options)
	concat("", ["lowerdir=", concat(":", names)]) in opts
	layer_opts := [o | some o in opts; startswith(o, "io.katacontainers.fs-opt.layer=")]
	count(layer_opts) == count(names)
	every k, o in layer_opts {
		base64.decode(trim_prefix(o, "io.katacontainers.fs-opt.layer=")) == concat(",", array.concat([names[k], "tar"], layer_options(names[k], hashes[k])))
	}
	every o in opts {
		overlay_option_allowed(o)
	}
}

overlay_option_allowed(o) if o == "io.katacontainers.fs-opt.overlay-rw"

overlay_option_allowed(o) if startswith(o, "lowerdir=")

overlay_option_allowed(o) if startswith(o, "io.katacontainers.fs-opt.layer=")

overlay_option_allowed(o) if {
	startswith(o, "io.katacontainers.fs-opt.layer-src-prefix=")
	regex.match(common_value("layer_src_prefix", "^/var/lib/containerd/io\\.containerd\\.snapshotter\\.v1\\.tardev/layers$"), trim_prefix(o, "io.katacontainers.fs-opt.layer-src-prefix="))
}

# Guest pull (every container, the pause container included, when the runtime forces guest pull:
# kata-containers src/runtime/virtcontainers/kata_agent.go handleImageGuestPullBlockVolume). The
# agent pulls the image its storage source names into /run/kata-containers/<container id>/rootfs.
# The source is the image reference as containerd resolved it (repo@sha256:D for a YAML
# repo:tag@sha256:D), so it is compared by repository and digest with the policy's pin. For the
# pause container the runtime sends the literal "pause": the agent then uses the pause bundle built
# into the guest image and pulls nothing.
image_storages_allowed(p, p_storages, i_storages, ctx) if {
	pin := p.image_guest_pull
	count([s | some s in i_storages; s.fstype == "tar"]) == 0
	count([s | some s in i_storages; s.fstype == "fuse3.kata-overlay"]) == 0
	i_pulls := [s | some s in i_storages; s.driver == "image_guest_pull"]
	count(i_pulls) == 1
	guest_pull_storage_allowed(p, pin, i_pulls[0], ctx)
}

guest_pull_storage_allowed(p, pin, s, ctx) if {
	s.fstype == "overlay"
	s.mount_point == subst("$(root_path)", ctx)
	empty(object.get(s, "options", []))
	object.get(s, "fs_group", null) == null
	guest_pull_source_allowed(p, pin, s.source)
}

guest_pull_source_allowed(p, pin, source) if image_ref_allowed(pin, source)

guest_pull_source_allowed(p, pin, source) if {
	source == "pause"
	p.OCI.Annotations["io.kubernetes.cri.container-type"] == "sandbox"
}

# A reference names the pinned image: as pinned, as repository@digest, or as repository:tag@digest.
image_ref_allowed(pin, ref) if ref == pin.reference

image_ref_allowed(pin, ref) if ref == concat("@", [pin.repository, pin.digest])

image_ref_allowed(pin, ref) if {
	regex.match(concat("", ["^", regex_quote(pin.repository), ":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}@", pin.digest, "$"]), ref)
}

# --- devices and Linux settings

vfio_path := object.get(object_or_empty(object.get(object_or_empty(object.get(policy_data, "devices", {})), "vfio", {})), "device_path", "")

is_vfio(d) if {
	vfio_path != ""
	startswith(d.container_path, vfio_path)
}

# Volume devices by container path; GPUs (VFIO, genpolicy testdata createcontainer/gpu_vfio_cdi):
# each requested VFIO device is <device_path><n> with id vfio<n>, the policy's type, no VM path and
# PCI address options; with hot-plug there are as many as the policy lists, with distinct numbers
# equal to the numbers of the cdi.k8s.io/vfio<n> annotations; with cold-plug none, and as many
# distinct CDI annotations as the policy lists GPUs.
devices_allowed(p, i_devices) if {
	p_devices := list_or_empty(object.get(p, "devices", []))
	count([d | some d in p_devices; is_vfio(d)]) == 0
	every d in i_devices {
		not is_vfio(d)
		some pd in p_devices
		not is_vfio(pd)
		pd.container_path == d.container_path
	}
}

devices_allowed(p, i_devices) if {
	p_devices := list_or_empty(object.get(p, "devices", []))
	p_vfio := [d | some d in p_devices; is_vfio(d)]
	i_vfio := [d | some d in i_devices; is_vfio(d)]
	count(p_vfio) > 0
	every d in i_devices {
		volume_or_vfio_device_allowed(d, p_devices, p_vfio)
	}
	numbers := [n | some d in i_vfio; n := trim_prefix(d.container_path, vfio_path)]
	cdi := cdi_vfio_numbers(input.OCI.Annotations)
	count(cdi) == count({n | some n in cdi})
	vfio_correlated(p_vfio, numbers, cdi)
}

volume_or_vfio_device_allowed(d, p_devices, p_vfio) if {
	not is_vfio(d)
	some pd in p_devices
	not is_vfio(pd)
	pd.container_path == d.container_path
}

volume_or_vfio_device_allowed(d, p_devices, p_vfio) if {
	is_vfio(d)
	n := trim_prefix(d.container_path, vfio_path)
	regex.match("^[0-9]+$", n)
	d.id == concat("", ["vfio", n])
	object.get(d, "type_", "") == object.get(p_vfio[0], "type_", "")
	object.get(d, "vm_path", "") == object.get(p_vfio[0], "vm_path", "")
	count(list_or_empty(d.options)) > 0
	every o in list_or_empty(d.options) {
		regex.match("^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\\.[0-7]=[0-9a-fA-F]{2}/[0-9a-fA-F]{2}$", o)
	}
}

cdi_vfio_numbers(anno) := [n |
	some key, _ in object_or_empty(anno)
	startswith(key, "cdi.k8s.io/vfio")
	n := trim_prefix(key, "cdi.k8s.io/vfio")
]

# hot-plug
vfio_correlated(p_vfio, numbers, cdi) if {
	count(numbers) > 0
	count(numbers) == count(p_vfio)
	count(numbers) == count({n | some n in numbers})
	{n | some n in numbers} == {n | some n in cdi}
}

# cold-plug
vfio_correlated(p_vfio, numbers, cdi) if {
	count(numbers) == 0
	count(cdi) == count(p_vfio)
}

linux_allowed(p, i) if {
	namespaces_allowed(list_or_empty(p.Namespaces), list_or_empty(i.Namespaces))
	every m in list_or_empty(object.get(p, "MaskedPaths", [])) {
		m in list_or_empty(i.MaskedPaths)
	}
	every r in list_or_empty(object.get(p, "ReadonlyPaths", [])) {
		r in list_or_empty(i.ReadonlyPaths)
	}
	every d in list_or_empty(object.get(i, "Devices", [])) {
		some pd in list_or_empty(object.get(p, "Devices", []))
		pd.Path == d.Path
	}
	every k, v in object_or_empty(object.get(i, "Sysctl", {})) {
		object_or_empty(object.get(p, "Sysctl", {}))[k] == v
	}
}

# A namespace without Path is one with Path "" (a new namespace), as the OCI spec reads it. Reading
# n.Path directly would drop such an entry from the set (undefined head) instead of comparing it.
namespaces_allowed(p_ns, i_ns) if {
	count([n | some n in i_ns; not is_string(n.Type)]) == 0
	{{"Type": n.Type, "Path": object.get(n, "Path", "")} | some n in i_ns; not n.Type in {"cgroup", "network"}} == {{"Type": n.Type, "Path": object.get(n, "Path", "")} | some n in p_ns}
	not joins_existing_network_namespace(i_ns)
}

joins_existing_network_namespace(ns) if {
	some n in ns
	n.Type == "network"
	object.get(n, "Path", "") != ""
}

######################################################################
# Sandbox

# Once per agent: not again after a sandbox or the pod's containers were created.
CreateSandboxRequest := {"allowed": true, "ops": set_state_ops({"sandbox_created": true})} if {
	not sandbox_created
	not pod_recorded
	object.get(input, "guest_hook_path", "") == ""
	empty(object.get(input, "kernel_modules", []))
	object.get(input, "sandbox_pidns", false) == false
	every s in list_or_empty(input.storages) {
		some p in policy_data.sandbox.storages
		sandbox_storage_allowed(p, s)
	}
}

sandbox_storage_allowed(p, i) if {
	p.driver == i.driver
	p.source == i.source
	p.fstype == i.fstype
	p.mount_point == i.mount_point
	same_set(p.options, i.options)
	same_set(object.get(p, "driver_options", []), object.get(i, "driver_options", []))
}

RemoveContainerRequest := {"allowed": true, "ops": [{"op": "remove", "path": concat("/", ["", "pstate", "containers", input.container_id])}]} if {
	container_recorded(input.container_id)
}

######################################################################
# Files copied into the guest (ConfigMaps, Secrets, service account tokens, /etc/hosts, ...)

# Kata >= 3.29 agents give the rules a pre-processed request (src/agent/policy/src/policy.rs
# PolicyCopyFileRequest): file_type from the mode bits, symlink_target for links, no data. Regular
# files and directories under the shared prefix; symlinks only below a top-level entry (a top-level
# link would be what a later bind mount exposes) and only with a relative target that does not
# climb out; anything else ("Unknown": devices, fifos) is refused.
CopyFileRequest if {
	input.file_type in {"Regular", "Directory"}
	copy_path_allowed(input.path, "")
	no_setid_bits(object.get(input, "file_mode", 0))
}

CopyFileRequest if {
	input.file_type == "Symlink"
	copy_path_allowed(input.path, ".*/.+")
	target := input.symlink_target
	is_string(target)
	target != ""
	not startswith(target, "/")
	not has_parent_component(target)
}

# Older agents hand over the raw request (with symlink_src instead of the link's data).
CopyFileRequest if {
	not has_key(input, "file_type")
	copy_path_allowed(input.path, "")
	raw_copy_type_allowed(object.get(input, "file_mode", 0), object.get(input, "symlink_src", ""))
	no_setid_bits(object.get(input, "file_mode", 0))
}

has_key(o, k) if _ = o[k]

copy_path_allowed(path, suffix) if {
	is_string(path)
	not has_parent_component(path)
	some r in policy_data.request_defaults.CopyFileRequest
	regex.match(concat("", [copy_file_regex(r), suffix]), path)
}

# S_IFMT of the mode: regular file, directory, or a symlink whose source is relative and stays in.
# Older agents write a file whose mode carries no type bits as a regular file (rpc.rs do_copy_file).
raw_copy_type_allowed(mode, src) if {
	bits.and(mode, 61440) in {0, 32768, 16384}
	src == ""
}

raw_copy_type_allowed(mode, src) if {
	bits.and(mode, 61440) == 40960
	symlink_allowed(src)
}

has_parent_component(p) if ".." in split(p, "/")

symlink_allowed(s) if s == ""

symlink_allowed(s) if {
	s != ""
	not startswith(s, "/")
	not has_parent_component(s)
}

# A copied file must not be setuid/setgid (mode bits 04000 and 02000).
no_setid_bits(mode) if (mode % 4096) < 1024

copy_file_regex(r) := x if {
	r1 := replace(r, "$(sfprefix)", policy_data.common.sfprefix)
	r2 := replace(r1, "$(cpath)", policy_data.common.cpath)
	x := replace(r2, "$(bundle-id)", "[a-z0-9]{64}")
}

######################################################################
# Exec (probes, lifecycle hooks, explicitly allowed commands)

ExecProcessRequest if {
	object.get(input, "string_user", null) == null
	proc := input.process
	object.get(proc, "SelinuxLabel", "") == ""
	object.get(proc, "ApparmorProfile", "") == ""
	s := data.pstate
	idx := s.containers[input.container_id]
	p := policy_data.containers[idx]
	p_proc := p.OCI.Process
	exec_args_allowed(p, proc)
	proc.Cwd == p_proc.Cwd
	proc.NoNewPrivileges == p_proc.NoNewPrivileges
	user_allowed(p_proc.User, proc.User)
	ctx := {"bundle_id": input.container_id, "sandbox_id": s.sandbox_id, "sandbox_name": s.sandbox_name, "namespace": s.namespace}
	env_allowed(list_or_empty(object.get(p_proc, "Env", [])), list_or_empty(proc.Env), ctx)
	exec_caps_empty(object.get(proc, "Capabilities", null))
}

exec_args_allowed(p, proc) if {
	proc.Args in list_or_empty(object.get(p, "exec_commands", []))
	proc.Terminal == false
}

exec_args_allowed(p, proc) if proc.Args in policy_data.request_defaults.ExecProcessRequest.allowed_commands

exec_args_allowed(p, proc) if {
	some r in policy_data.request_defaults.ExecProcessRequest.regex
	regex.match(r, concat(" ", proc.Args))
}

exec_caps_empty(c) if c == null

exec_caps_empty(c) if {
	c != null
	every k in cap_sets {
		empty(object.get(c, k, []))
	}
}

######################################################################
# Network configuration from the host

# Names in these deny-lists are exact (genpolicy's settings: "lo") or anchored regexes ("^lo$").
listed(list, s) if s in list_or_empty(list)

listed(list, s) if {
	some p in list_or_empty(list)
	startswith(p, "^")
	regex.match(p, s)
}

not_listed(list, s) if {
	is_string(s)
	not listed(list, s)
}

# raw_flags is 0, or IFF_NOARP (128) when the host interface has it (runtime network.go); the
# settings' allow_raw_flags is the mask of flags that may be set.
UpdateInterfaceRequest if {
	rd := object_or_empty(object.get(policy_data.request_defaults, "UpdateInterfaceRequest", {}))
	i := input.interface
	not_listed(object.get(rd, "forbidden_names", []), i.name)
	not_listed(object.get(rd, "forbidden_names", []), object.get(i, "device", ""))
	not_listed(object.get(rd, "forbidden_hw_addrs", []), object.get(i, "hwAddr", ""))
	bits.and(object.get(i, "raw_flags", 0), bits.negate(object.get(rd, "allow_raw_flags", 0))) == 0
	every a in list_or_empty(object.get(i, "IPAddresses", [])) {
		none_match(object.get(rd, "forbidden_addresses", []), a.address)
	}
}

# No route through the loopback device, none with a loopback source (IPv4 and IPv6).
UpdateRoutesRequest if {
	rd := object_or_empty(object.get(policy_data.request_defaults, "UpdateRoutesRequest", {}))
	every r in list_or_empty(object.get(object_or_empty(input.routes), "Routes", [])) {
		not_listed(object.get(rd, "forbidden_device_names", []), r.device)
		none_match(object.get(rd, "forbidden_devices", []), r.device)
		none_match(object.get(rd, "forbidden_source_regex", []), r.source)
		none_match(object.get(rd, "forbidden_sources", []), r.source)
		none_match(object.get(rd, "forbidden_destinations", []), r.dest)
		not loopback_address(r.source)
	}
}

loopback_address(a) if regex.match("^127\\.", a)

loopback_address(a) if regex.match("^(0{0,4}:){1,7}0{0,3}1$", a)

# The runtime adds the gateway's neighbour entries as NUD_REACHABLE (2) or NUD_PERMANENT (128)
# (network_linux.go); flags only NTF_PROXY (8) and NTF_ROUTER (128).
AddARPNeighborsRequest if {
	rd := object_or_empty(object.get(policy_data.request_defaults, "AddARPNeighborsRequest", {}))
	every n in list_or_empty(object.get(object_or_empty(input.neighbors), "ARPNeighbors", [])) {
		n.state in list_or_empty(object.get(rd, "allowed_states", [128]))
		bits.or(n.flags, 136) == 136
		object.get(n.toIPAddress, "mask", "") == ""
		not_listed(object.get(rd, "forbidden_device_names", []), n.device)
		none_match(object.get(rd, "forbidden_devices", []), n.device)
		none_match(object.get(rd, "forbidden_cidrs_regex", []), n.toIPAddress.address)
		none_match(object.get(rd, "forbidden_addresses", []), n.toIPAddress.address)
	}
}

######################################################################
# Streams and ephemeral mounts: switched by request_defaults

CloseStdinRequest if policy_data.request_defaults.CloseStdinRequest == true

ReadStreamRequest if policy_data.request_defaults.ReadStreamRequest == true

WriteStreamRequest if policy_data.request_defaults.WriteStreamRequest == true

UpdateEphemeralMountsRequest if policy_data.request_defaults.UpdateEphemeralMountsRequest == true

GetDiagnosticDataRequest if object.get(policy_data.request_defaults, "GetDiagnosticDataRequest", false) == true

# An update that mounts nothing changes nothing.
UpdateEphemeralMountsRequest if empty(object.get(input, "storages", []))
