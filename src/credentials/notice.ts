// One `generate` resolves credentials for every image; a broken file or a leftover credsStore
// would otherwise repeat the same warning hundreds of times. Each distinct message is logged once
// per process.
import { log } from '../internal/log.js';

const said = new Set<string>();

export function warnOnce(message: string): void {
  if (said.has(`warn\0${message}`)) return;
  said.add(`warn\0${message}`);
  log.warn(message);
}

export function infoOnce(message: string): void {
  if (said.has(`info\0${message}`)) return;
  said.add(`info\0${message}`);
  log.info(message);
}

/** Forgets what was said: each in-process CLI run (tests) says its notices once, as a process would. */
export function forgetNotices(): void {
  said.clear();
}
