// The control channel of a detached trainer: where it is, and a client for it. tuner-train
// --control serves it (native/src/protocol/control_server.cpp); any window of the same user may
// connect, at any time, as often as it reopens.
//
// Where: a Unix domain socket, runs/<id>/control.sock, on Linux and macOS: it lives and dies
// with the run folder, file permissions keep other users out (and the trainer checks every
// peer's uid), and Node speaks it with the same `net` module as everything else. A socket path
// must fit sockaddr_un (107 bytes on Linux, 103 on macOS); a deeper run folder gets its socket
// in a private folder of this user ($XDG_RUNTIME_DIR, else <tmp>/tuner-<uid>, mode 0700) under
// a hash of the run folder. On Windows, a named pipe \\.\pipe\tuner-<hash>: Node's `net` maps
// paths to named pipes there (it cannot connect to AF_UNIX sockets on Windows), and a pipe
// created with the default security only admits its owner's processes to write.
// The address is always derived from the run folder, never read from a file in it, so a run
// folder that came with a repository cannot point Tuner at another socket.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as l10n from '@vscode/l10n';

export const CONTROL_SOCKET_NAME = 'control.sock';

/** The longest socket path sockaddr_un holds (its size less the final NUL). */
export function maxSocketPathBytes(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' ? 107 : 103;
}

function hashOf(dir: string): string {
  let real = dir;
  try {
    real = fs.realpathSync(dir);
  } catch {
    // not there yet: the path as given
  }
  return createHash('sha256').update(real).digest('hex').slice(0, 24);
}

/**
 * A folder only this user can use, for sockets whose run folder path is too long: made with
 * mode 0700 and refused when it is a link, another user's, or open to others.
 */
export function privateSocketDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = process.getuid?.() ?? 0;
  const base = env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR) ? path.join(env.XDG_RUNTIME_DIR, 'tuner') : path.join(os.tmpdir(), `tuner-${uid}`);
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(base);
  if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new Error(l10n.t('{0} must be a folder of this user that no one else can open (mode 0700): remove it, and Tuner makes it again.', base));
  }
  return base;
}

/** The control channel address of the run in `runDir` (see the file's opening comment). */
export function controlAddress(runDir: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return `\\\\.\\pipe\\tuner-${hashOf(runDir)}`;
  const inRun = path.join(runDir, CONTROL_SOCKET_NAME);
  if (Buffer.byteLength(inRun) <= maxSocketPathBytes(platform)) return inRun;
  return path.join(privateSocketDir(env), `${hashOf(runDir)}.sock`);
}

export type ControlRole = 'controller' | 'observer';

/** Asks the trainer to make this connection the controller (the one that had it only watches from then on). */
export const TAKE_CONTROL_LINE = '{"version":1,"type":"take_control"}\n';

/** A line from the trainer on the control channel. */
export type ControlMessage =
  | { version: number; type: 'hello'; role: ControlRole; pid: number }
  | { version: number; type: 'role'; role: ControlRole }
  | { version: number; type: 'refused'; message: string };

export class ControlError extends Error {}

/**
 * Refuses to connect where the socket file is not a socket of this user: a link or a plain file
 * put there is not the trainer's.
 */
function checkSocketFile(address: string): void {
  if (process.platform === 'win32') return;
  const st = fs.lstatSync(address); // ENOENT: no trainer listens (yet)
  if (!st.isSocket()) throw new ControlError(l10n.t('{0} is not a socket; remove it.', address));
  if (st.uid !== process.getuid?.()) throw new ControlError(l10n.t('{0} belongs to another user; Tuner does not send it commands.', address));
}

/** One connection to a trainer's control channel. */
export class ControlClient {
  role: ControlRole | undefined;
  /** The pid the server said it has (hello): a window checks it is the run's trainer before it sends anything. */
  serverPid: number | undefined;
  private buf = '';
  private readonly listeners: ((m: ControlMessage) => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined); // ends in 'close'
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects and waits for the trainer's hello (its role for this client). */
  static connect(address: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      try {
        checkSocketFile(address);
      } catch (e) {
        reject(e instanceof ControlError ? e : new ControlError(l10n.t('no control channel at {0} ({1})', address, (e as Error).message)));
        return;
      }
      const socket = net.connect(address);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ControlError(l10n.t('the trainer at {0} did not answer within {1} ms', address, timeoutMs)));
      }, timeoutMs);
      const client = new ControlClient(socket);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new ControlError(l10n.t('cannot connect to {0}: {1}', address, e.message)));
      });
      client.onMessage((m) => {
        if (m.type !== 'hello') return;
        clearTimeout(timer);
        resolve(client);
      });
      void client.closed.then(() => {
        clearTimeout(timer);
        reject(new ControlError(l10n.t('the trainer at {0} closed the connection', address)));
      });
    });
  }

  onMessage(l: (m: ControlMessage) => void): void {
    this.listeners.push(l);
  }

  /** One command line (protocol.ts formatCommand / formatSetCommand, or a line as typed). */
  write(text: string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * Sends what is queued, then closes; the trainer goes on. A trainer that does not answer the
   * end (stopped, hung) is not waited for beyond `graceMs`: the connection is dropped.
   */
  close(graceMs = 1000): Promise<void> {
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), graceMs);
    void this.closed.then(() => clearTimeout(timer));
    return this.closed;
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let m: ControlMessage;
      try {
        m = JSON.parse(line) as ControlMessage;
      } catch {
        // Not silence: a line we cannot read is shown like a refusal.
        m = { version: 1, type: 'refused', message: l10n.t('unreadable line on the control channel: {0}', line.slice(0, 200)) };
      }
      if (m.type === 'hello' || m.type === 'role') this.role = m.role;
      if (m.type === 'hello' && typeof m.pid === 'number') this.serverPid = m.pid;
      for (const l of [...this.listeners]) l(m);
    }
  }
}
