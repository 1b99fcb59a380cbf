// Option groups shared by the commands, so every command spells and documents a flag the same way.
import type { Command } from 'commander';

/** Commander argParser for repeatable options. */
export const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** How to trust a registry's TLS certificate, or reach it without TLS. */
export function addTlsOptions(cmd: Command): Command {
  return cmd
    .option('--ca-file <path>', 'extra CA certificate(s) (PEM) to trust for registries')
    .option('--cert-dir <dir>', 'directory with *.crt CAs and a *.cert/*.key client pair, for every registry')
    .option(
      '--insecure-registry <host[:port]>',
      'allow plain HTTP / unverified TLS for this registry (repeatable)',
      collect,
    );
}

/** Everything that decides how registries are reached: credentials, TLS, mirrors. */
export function addRegistryOptions(cmd: Command): Command {
  return addTlsOptions(
    cmd.option('--authfile <path>', 'auth file to use instead of the docker/podman config search'),
  )
    .option(
      '--registries-conf <path>',
      'containers-registries.conf file with mirrors (default: CONTAINERS_REGISTRIES_CONF)',
    )
    .option(
      '--min-blob-throughput <KiB/s>',
      'fail a blob download slower than this on average (its deadline: 120 s + size / this; default 256)',
    )
    .option(
      '--request-deadline <seconds>',
      'total time allowed for one manifest or config request (default 120)',
    );
}
