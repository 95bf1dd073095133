// The environment a child process gets: an allow-list, never the runner's own secrets (Grafana token, Slack
// webhook, anything else the parent happens to hold).

/** Variables a child may inherit: where to find programs and config, locale, time zone, proxies and CA bundles. */
const ALLOWED = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "TERM",
  "TZ",
  "LANG",
  "LANGUAGE",
  "TMPDIR",
  "TMP",
  "TEMP",
  "XDG_CONFIG_HOME",
  "XDG_CACHE_HOME",
  "XDG_RUNTIME_DIR",
  "DISPLAY",
  "WAYLAND_DISPLAY",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "all_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  // The Coder CLI's own settings: deployment, credentials, config dir, headers.
  "CODER_URL",
  "CODER_SESSION_TOKEN",
  "CODER_CONFIG_DIR",
  "CODER_HEADER",
  "CODER_HEADER_COMMAND",
  // Windows needs these to start anything at all.
  "SystemRoot",
  "SYSTEMROOT",
  "windir",
  "COMSPEC",
  "ComSpec",
  "PATHEXT",
  "APPDATA",
  "AppData",
  "LOCALAPPDATA",
  "USERPROFILE",
]);

/** Prefixes allowed as a family: locale categories and the `coder ssh` flags' env twins. */
const ALLOWED_PREFIXES = ["LC_", "CODER_SSH_"];

/** True when a child may inherit `name`. */
export function isChildEnvAllowed(name: string): boolean {
  return ALLOWED.has(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The allow-listed part of `env`, plus `extra` (set values win; an `undefined` value removes the variable).
 * Pass the result as the child's whole environment.
 */
export function childEnv(extra: Record<string, string | undefined> = {}, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && isChildEnvAllowed(k)) out[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
