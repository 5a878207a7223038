/**
 * What the commands and the start need to know about the machine, beyond reading files: who runs
 * this process, who owns a file, whether a path can be written, changing a file's owner, checking
 * that a certificate and a key belong together, and a password prompt without echo. Each adapter
 * implements it with its runtime's file system and crypto; src/ stays runtime-neutral.
 */

export interface PathStat {
  isDirectory: boolean;
  uid: number;
  gid: number;
  /** Permission bits (e.g. 0o640). */
  mode: number;
}

export interface Host {
  /** The current working directory (relative paths given on the command line resolve against it). */
  cwd(): string;
  /** The real user id of this process (0: root). */
  uid(): number;
  /** Owner and kind of `path`; undefined when it does not exist (other failures throw). */
  stat(path: string): PathStat | undefined;
  /** undefined when this process may read (or write) `path`, else the system's reason (EACCES, EROFS, ...). */
  access(path: string, mode: "read" | "write"): string | undefined;
  chown(path: string, uid: number, gid: number): void;
  /** undefined when the PEM certificate and PEM private key belong together, else why not. */
  checkKeyPair(certPem: string, keyPem: string): string | undefined;
  /**
   * On a terminal: writes `prompt` to it and reads one line without echo. Undefined when standard
   * input is not a terminal (then the caller reads a line from the pipe).
   */
  readSecret(prompt: string): Promise<string | undefined>;
}

/** A user name for `uid` from /etc/passwd ("uid 1234" when it has none). */
export function userName(readTextFile: (path: string) => string | undefined, uid: number): string {
  try {
    for (const line of (readTextFile("/etc/passwd") ?? "").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === uid && id !== "") return name;
    }
  } catch {
    // unreadable /etc/passwd: fall through to the number
  }
  return `uid ${uid}`;
}
