/** MQTT over TCP on Bun: wraps each Bun socket as a core Transport with bounded, batched writes. */
import type { Socket, TCPSocketListener } from "bun";
import type { Acceptor, ConnectionEvents, Logger, Transport } from "../../src/mod.ts";
import { OutgoingBuffer } from "../../src/mod.ts";

interface SocketState {
  events: ConnectionEvents;
  outgoing: OutgoingBuffer;
}

/** Flush then end; a peer that never reads cannot hold the socket open past the grace time. */
function closeSoon(socket: Socket<SocketState>, outgoing: OutgoingBuffer): void {
  const force = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
  outgoing.end(() => {
    clearTimeout(force);
    socket.end();
  });
}

const CLOSE_GRACE_MS = 2000;

export function listenTcp(broker: Acceptor, host: string, port: number, logger: Logger): TCPSocketListener<SocketState> {
  return Bun.listen<SocketState>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const outgoing = new OutgoingBuffer((bytes) => socket.write(bytes), () => socket.data?.events.onDrain());
        const transport: Transport = {
          remote: { address: socket.remoteAddress, port: socket.remotePort ?? 0, kind: "tcp" },
          write: (bytes) => outgoing.push(bytes),
          pauseReading: () => socket.pause(),
          resumeReading: () => socket.resume(),
          close: () => closeSoon(socket, outgoing),
        };
        socket.data = { events: broker.accept(transport), outgoing };
      },
      data(socket, bytes) {
        socket.data.events.onData(bytes);
      },
      drain(socket) {
        socket.data.outgoing.flush();
      },
      close(socket) {
        socket.data?.events.onClose();
      },
      error(socket, error) {
        logger.debug("socket error", { error: String(error) });
        socket.data?.events.onClose();
      },
    },
  });
}
