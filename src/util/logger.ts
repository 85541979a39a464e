import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Structured JSON logs (pino) at `level`, to stdout or appended to `file`. */
export function createLogger(options: { level: LogLevel; file?: string }): Logger {
  const destination = options.file
    ? pino.destination({ dest: options.file, mkdir: true, sync: false })
    : pino.destination({ dest: 1, sync: false });
  return pino({ level: options.level, base: { service: 'wps-oaproc-gateway' } }, destination);
}

export const silentLogger = (): Logger => pino({ level: 'silent' });
