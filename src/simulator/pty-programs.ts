// What runs behind a simulated PTY session: an echoing tty, a tiny shell, or a command that prints once (coder's --run-command).

/** What the simulated process does with terminal input; `exit` ends the session. */
export interface PtyProgram {
  /** Output printed when the process starts (before any input). */
  banner(): string;
  /** Consumes one chunk of typed input; returns the terminal output (echo included). */
  input(data: string): { output: string; exit: boolean };
}

// Control characters a tty with ECHOCTL shows as ^X (TAB and NL are echoed as themselves).
const CONTROL_RE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Echo of a canonical-mode tty with ICRNL/ONLCR/ECHOCTL: CR and LF become CRLF, other controls ^X. */
function ttyEcho(ch: string): string {
  if (ch === "\r" || ch === "\n") return "\r\n";
  if (ch === "\x7f") return "^?";
  return `^${String.fromCharCode(ch.charCodeAt(0) + 64)}`;
}

/**
 * `dd if=/dev/stdin of=/dev/null` (or any command we do not model) under a tty with echo on:
 * everything typed is echoed, Ctrl+C echoes ^C and kills it, Ctrl+D on an empty line is EOF.
 */
function echoProgram(): PtyProgram {
  let lineEmpty = true;
  return {
    banner: () => "",
    input(data) {
      if (!CONTROL_RE.test(data)) {
        if (data.length > 0) lineEmpty = false;
        return { output: data, exit: false };
      }
      let out = "";
      for (const ch of data) {
        if (ch === "\x03") return { output: `${out}^C`, exit: true };
        if (ch === "\x04") {
          if (lineEmpty) return { output: out, exit: true };
          lineEmpty = true;
          continue;
        }
        if (ch === "\t" || !CONTROL_RE.test(ch)) {
          out += ch;
          lineEmpty = false;
        } else {
          out += ttyEcho(ch);
          lineEmpty = ch === "\r" || ch === "\n";
        }
      }
      return { output: out, exit: false };
    },
  };
}

const PROMPT = "$ ";

/** The login shell (empty command): a prompt, `echo ARGS`, `exit`, Ctrl+C cancels the line, Ctrl+D exits. */
function shellProgram(): PtyProgram {
  let line = "";
  return {
    banner: () => PROMPT,
    input(data) {
      let out = "";
      for (const ch of data) {
        if (ch === "\r" || ch === "\n") {
          out += "\r\n";
          const cmd = line.trim();
          line = "";
          if (cmd === "exit") return { output: out, exit: true };
          if (cmd !== "") out += runShellLine(cmd);
          out += PROMPT;
        } else if (ch === "\x03") {
          line = "";
          out += `^C\r\n${PROMPT}`;
        } else if (ch === "\x04") {
          if (line === "") return { output: `${out}exit\r\n`, exit: true };
        } else if (ch === "\x7f") {
          if (line.length > 0) {
            line = line.slice(0, -1);
            out += "\b \b";
          }
        } else if (ch === "\t" || !CONTROL_RE.test(ch)) {
          if (line.length < 4095) line += ch;
          out += ch;
        } else {
          out += ttyEcho(ch);
        }
      }
      return { output: out, exit: false };
    },
  };
}

function runShellLine(cmd: string): string {
  const echo = /^echo(?:\s+(.*))?$/.exec(cmd);
  if (echo) return `${unquote(echo[1] ?? "")}\r\n`;
  return `sh: 1: ${cmd.split(/\s+/)[0]}: not found\r\n`;
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.at(-1) === t[0]) return t.slice(1, -1);
  return t;
}

/** `echo X` as the whole command: prints X and exits (handy for run-command style tests). */
function echoOnceProgram(text: string): PtyProgram {
  return {
    banner: () => `${unquote(text)}\r\n`,
    input: () => ({ output: "", exit: false }),
  };
}

/**
 * The process a session runs for `command` (only used when the session is created):
 * "" is a login shell, `echo X` prints X and exits, anything else (the traffic `dd`) echoes until Ctrl+C.
 */
export function programFor(command: string): PtyProgram & { exitsAfterBanner: boolean } {
  if (command.trim() === "") return { ...shellProgram(), exitsAfterBanner: false };
  const echo = /^\s*echo(?:\s+(.*))?$/.exec(command);
  if (echo) return { ...echoOnceProgram(echo[1] ?? ""), exitsAfterBanner: true };
  return { ...echoProgram(), exitsAfterBanner: false };
}
