import pino, { type Logger } from 'pino';

/** The root logger: JSON lines, pretty when a person is watching (stderr is a TTY). */
export function rootLogger(level = process.env.TRIBUTARY_LOG_LEVEL ?? 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({ level }, pino.transport({ target: 'pino-pretty', options: { destination: 2, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } }));
  }
  return pino({ level }, pino.destination(2));
}
