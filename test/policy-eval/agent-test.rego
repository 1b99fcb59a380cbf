package agent_policy

# A small agent policy for the `contrast policy eval` tests, written for them (not a production
# policy). The tests append `policy_data := {...}` built from a recorded pod, the way a generated
# policy carries its data. It exercises what the agent emulation must get right: defaults, a request
# type without any rule (undefined), {"allowed", "ops"} results whose ops change the agent state, and
# later requests that depend on that state.

import future.keywords.every
import future.keywords.if
import future.keywords.in

default AllowRequestsFailingPolicy := false

default CreateSandboxRequest := false
default CreateContainerRequest := false
default CopyFileRequest := false
default ExecProcessRequest := false
default UpdateEphemeralMountsRequest := false
default UpdateInterfaceRequest := false
default UpdateRoutesRequest := false

default GuestDetailsRequest := true
default OnlineCPUMemRequest := true
default StartContainerRequest := true
default WaitProcessRequest := true
default RemoveContainerRequest := true

# GetOOMEventRequest has no rule at all: it is undefined, and the agent refuses it.

CreateSandboxRequest := {"allowed": true, "ops": ops} if {
	count(input.kernel_modules) == 0
	input.sandbox_pidns == false
	ops := [
		{"op": "add", "path": "/pstate/sandbox_name", "value": input.hostname},
		{"op": "add", "path": "/pstate/containers", "value": {}},
	]
}

CreateContainerRequest := {"allowed": true, "ops": ops} if {
	i_oci := input.OCI
	i_oci.Annotations["io.kubernetes.cri.sandbox-name"] == data.pstate.sandbox_name
	some index, p_container in policy_data.containers
	container_matches(p_container.OCI, i_oci)
	print("CreateContainerRequest: matches policy container", index)
	ops := [{"op": "add", "path": concat("/", ["", "pstate", "containers", input.container_id]), "value": index}]
}

container_matches(p_oci, i_oci) if {
	p_oci.Annotations["io.kubernetes.cri.container-type"] == i_oci.Annotations["io.kubernetes.cri.container-type"]
	annotations_match(p_oci.Annotations, i_oci.Annotations)
	p_oci.Process.Args == i_oci.Process.Args
	p_oci.Process.Cwd == i_oci.Process.Cwd
	p_oci.Process.User.UID == i_oci.Process.User.UID
	p_oci.Root.Readonly == i_oci.Root.Readonly
	every env in i_oci.Process.Env {
		env_allowed(env, p_oci.Process.Env)
	}
}

annotations_match(p_anno, i_anno) if {
	every key, value in p_anno {
		i_anno[key] == value
	}
}

env_allowed(env, p_env) if {
	env in p_env
}

env_allowed(env, _) if {
	some pattern in policy_data.request_defaults.CreateContainerRequest.allow_env_regex
	regex.match(pattern, env)
}

CopyFileRequest if {
	not contains(input.path, "/..")
	some pattern in policy_data.request_defaults.CopyFileRequest
	regex.match(pattern, input.path)
}

ExecProcessRequest if {
	index := data.pstate.containers[input.container_id]
	p_container := policy_data.containers[index]
	input.process.Args in p_container.exec_commands
}

UpdateInterfaceRequest if {
	input.interface.mtu >= 1280
	startswith(input.interface.device, "eth")
}

UpdateRoutesRequest if {
	every route in input.routes.Routes {
		route.device == "eth0"
	}
}
