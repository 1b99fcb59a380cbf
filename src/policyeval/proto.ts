// The input the Kata agent gives its rules is a protobuf message serialized with serde
// (kata-containers src/libs/protocols: build.rs adds `#[serde(default)]` to every message,
// serde_config.rs writes an absent message field as null): every field of the message is present,
// absent ones with their protobuf default, unknown ones dropped. genpolicy's policy test harness
// (src/tools/genpolicy/tests/policy/main.rs) reads its hand-written, partial requests through the
// same types. `agentInput` does that for the requests our tests and replays use, so a partial
// request is judged as the agent would see it. Field names and types are those of the .proto files
// (agent.proto, oci.proto, types.proto; `type` is `type_` in Rust) and, for CopyFileRequest on
// Kata >= 3.29, of the agent's PolicyCopyFileRequest (src/agent/policy/src/policy.rs).

type Field = 'string' | 'number' | 'bool' | 'strings' | 'map' | 'null' | Msg | [Msg];
interface Msg {
  [field: string]: Field;
}

const Box: Msg = { Height: 'number', Width: 'number' };
const User: Msg = { UID: 'number', GID: 'number', AdditionalGids: 'strings', Username: 'string' };
const Caps: Msg = {
  Bounding: 'strings',
  Effective: 'strings',
  Inheritable: 'strings',
  Permitted: 'strings',
  Ambient: 'strings',
};
const Rlimit: Msg = { Type: 'string', Hard: 'number', Soft: 'number' };
const Process: Msg = {
  Terminal: 'bool',
  ConsoleSize: Box,
  User,
  Args: 'strings',
  Env: 'strings',
  Cwd: 'string',
  Capabilities: Caps,
  Rlimits: [Rlimit],
  NoNewPrivileges: 'bool',
  ApparmorProfile: 'string',
  OOMScoreAdj: 'number',
  SelinuxLabel: 'string',
};
const Mount: Msg = { destination: 'string', source: 'string', type_: 'string', options: 'strings' };
const Hook: Msg = { Path: 'string', Args: 'strings', Env: 'strings', Timeout: 'number' };
const Hooks: Msg = {
  Prestart: [Hook],
  Poststart: [Hook],
  Poststop: [Hook],
  CreateRuntime: [Hook],
  CreateContainer: [Hook],
  StartContainer: [Hook],
};
const IDMapping: Msg = { HostID: 'number', ContainerID: 'number', Size: 'number' };
const DeviceCgroup: Msg = {
  Allow: 'bool',
  Type: 'string',
  Major: 'number',
  Minor: 'number',
  Access: 'string',
};
const Memory: Msg = {
  Limit: 'number',
  Reservation: 'number',
  Swap: 'number',
  Kernel: 'number',
  KernelTCP: 'number',
  Swappiness: 'number',
  DisableOOMKiller: 'bool',
};
const CPU: Msg = {
  Shares: 'number',
  Quota: 'number',
  Period: 'number',
  RealtimeRuntime: 'number',
  RealtimePeriod: 'number',
  Cpus: 'string',
  Mems: 'string',
};
const Resources: Msg = {
  Devices: [DeviceCgroup],
  Memory,
  CPU,
  Pids: 'null',
  BlockIO: 'null',
  HugepageLimits: [{ Pagesize: 'string', Limit: 'number' }],
  Network: 'null',
};
const Linux: Msg = {
  UIDMappings: [IDMapping],
  GIDMappings: [IDMapping],
  Sysctl: 'map',
  Resources,
  CgroupsPath: 'string',
  Namespaces: [{ Type: 'string', Path: 'string' }],
  Devices: [
    {
      Path: 'string',
      Type: 'string',
      Major: 'number',
      Minor: 'number',
      FileMode: 'number',
      UID: 'number',
      GID: 'number',
    },
  ],
  Seccomp: 'null',
  RootfsPropagation: 'string',
  MaskedPaths: 'strings',
  ReadonlyPaths: 'strings',
  MountLabel: 'string',
  IntelRdt: 'null',
};
const Spec: Msg = {
  Version: 'string',
  Process,
  Root: { Path: 'string', Readonly: 'bool' },
  Hostname: 'string',
  Mounts: [Mount],
  Hooks,
  Annotations: 'map',
  Linux,
  Solaris: 'null',
  Windows: 'null',
};
const Storage: Msg = {
  driver: 'string',
  driver_options: 'strings',
  source: 'string',
  fstype: 'string',
  options: 'strings',
  mount_point: 'string',
  fs_group: { group_id: 'number', group_change_policy: 'number' },
  shared: 'bool',
};
const Device: Msg = {
  id: 'string',
  type_: 'string',
  vm_path: 'string',
  container_path: 'string',
  options: 'strings',
};
const StringUser: Msg = { uid: 'string', gid: 'string', additionalGids: 'strings' };
const IPAddress: Msg = { family: 'number', address: 'string', mask: 'string' };

/** The messages the agent queries its rules with, by rule name. */
const AGENT_MESSAGES: Record<string, Msg> = {
  CreateContainerRequest: {
    container_id: 'string',
    exec_id: 'string',
    string_user: StringUser,
    devices: [Device],
    storages: [Storage],
    OCI: Spec,
    sandbox_pidns: 'bool',
    shared_mounts: [
      { name: 'string', src_ctr: 'string', src_path: 'string', dst_ctr: 'string', dst_path: 'string' },
    ],
    stdin_port: 'number',
    stdout_port: 'number',
    stderr_port: 'number',
  },
  RemoveContainerRequest: { container_id: 'string', timeout: 'number' },
  ExecProcessRequest: {
    container_id: 'string',
    exec_id: 'string',
    string_user: StringUser,
    process: Process,
    stdin_port: 'number',
    stdout_port: 'number',
    stderr_port: 'number',
  },
  CreateSandboxRequest: {
    hostname: 'string',
    dns: 'strings',
    storages: [Storage],
    sandbox_pidns: 'bool',
    sandbox_id: 'string',
    guest_hook_path: 'string',
    kernel_modules: [{ name: 'string', parameters: 'strings' }],
  },
  UpdateInterfaceRequest: {
    interface: {
      device: 'string',
      name: 'string',
      IPAddresses: [IPAddress],
      mtu: 'number',
      hwAddr: 'string',
      devicePath: 'string',
      type_: 'string',
      raw_flags: 'number',
    },
  },
  UpdateRoutesRequest: {
    routes: {
      Routes: [
        {
          dest: 'string',
          gateway: 'string',
          device: 'string',
          source: 'string',
          scope: 'number',
          family: 'number',
          flags: 'number',
          mtu: 'number',
        },
      ],
    },
  },
  AddARPNeighborsRequest: {
    neighbors: {
      ARPNeighbors: [
        { toIPAddress: IPAddress, device: 'string', lladdr: 'string', state: 'number', flags: 'number' },
      ],
    },
  },
  // Kata >= 3.29: the pre-processed request (PolicyCopyFileRequest, file_type defaults to Unknown).
  CopyFileRequest: {
    path: 'string',
    file_type: 'string',
    symlink_target: 'null',
    file_size: 'number',
    file_mode: 'number',
    dir_mode: 'number',
    uid: 'number',
    gid: 'number',
    offset: 'number',
  },
};

const scalarDefaults = { string: '', number: 0, bool: false, strings: [], map: {}, null: null } as const;
const DEFAULT_OVERRIDES: Record<string, Record<string, unknown>> = {
  CopyFileRequest: { file_type: 'Unknown' },
};

function fill(schema: Msg, value: unknown): Record<string, unknown> {
  const v = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) {
    const given = (v as Record<string, unknown>)[name];
    if (typeof field === 'string') {
      out[name] = given === undefined ? structuredClone(scalarDefaults[field]) : given;
    } else if (Array.isArray(field)) {
      out[name] = Array.isArray(given) ? given.map((e) => fill(field[0]!, e)) : [];
    } else {
      out[name] = given === undefined || given === null ? null : fill(field, given);
    }
  }
  return out;
}

/**
 * The request as the agent's rules see it: every field of the message present (absent ones with
 * their protobuf default), unknown fields dropped. Request types without a schema here are
 * returned unchanged.
 */
export function agentInput(request: string, input: unknown): unknown {
  const schema = AGENT_MESSAGES[request];
  if (!schema) return input;
  const out = fill(schema, input);
  for (const [k, d] of Object.entries(DEFAULT_OVERRIDES[request] ?? {})) {
    if ((input as Record<string, unknown> | undefined)?.[k] === undefined) out[k] = d;
  }
  return out;
}
