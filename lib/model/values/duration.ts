import { LivestackValidationError } from '../errors';

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, min: 60, h: 3600, d: 86400 };
const SIMPLE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)$/;
const ISO8601 = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** A length of time. `Duration.hours(2)`, `Duration.parse('90s')`, `Duration.parse('PT1H30M')`. */
export class Duration {
  static millis(amount: number): Duration { return new Duration(amount / 1000); }
  static seconds(amount: number): Duration { return new Duration(amount); }
  static minutes(amount: number): Duration { return new Duration(amount * 60); }
  static hours(amount: number): Duration { return new Duration(amount * 3600); }
  static days(amount: number): Duration { return new Duration(amount * 86400); }

  /** Parses `500ms`, `2s`, `5m`, `5min`, `25h`, `1d` or ISO 8601 (`PT2H`, `P1DT2H`). */
  static parse(text: string): Duration {
    const parsed = Duration.tryParse(text);
    if (!parsed) {
      throw new LivestackValidationError([{
        path: 'Duration.parse', field: 'text', received: JSON.stringify(text),
        allowed: 'a number with a unit (ms, s, m, min, h, d), e.g. "90s" or "2h", or ISO 8601 such as "PT1H30M"',
      }]);
    }
    return parsed;
  }

  static tryParse(text: string): Duration | undefined {
    const simple = SIMPLE.exec(text.trim());
    if (simple) return new Duration(Number(simple[1]) * UNITS[simple[2]]);
    const iso = ISO8601.exec(text.trim());
    if (iso && text.trim() !== 'P' && text.trim() !== 'PT') {
      const [days, hours, minutes, seconds] = iso.slice(1).map((part) => Number(part ?? 0));
      return new Duration(days * 86400 + hours * 3600 + minutes * 60 + seconds);
    }
    return undefined;
  }

  private constructor(private readonly totalSeconds: number) {}

  toSeconds(): number { return this.totalSeconds; }

  /** Human form, e.g. `2h`, `90s`, `500ms`. */
  toString(): string {
    const s = this.totalSeconds;
    if (!Number.isFinite(s)) return `${s} seconds`;
    if (s >= 3600 && s % 3600 === 0) return `${s / 3600}h`;
    if (s >= 60 && s % 60 === 0) return `${s / 60}m`;
    if (s < 1 && s > 0) return `${Math.round(s * 1000)}ms`;
    return `${s}s`;
  }
}
