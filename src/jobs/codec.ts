/** JSON that keeps Date values (typed date/dateTime literals) through the job store. */
const DATE_TAG = '$date';

export function encode(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const original = this[key];
    return original instanceof Date ? { [DATE_TAG]: original.toISOString() } : v;
  });
}

export function decode<T>(text: string): T {
  // Most documents hold no date: parsed without a reviver (several times faster).
  if (!text.includes(`"${DATE_TAG}"`)) return JSON.parse(text) as T;
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const tagged = (v as Record<string, unknown>)[DATE_TAG];
      if (keys.length === 1 && typeof tagged === 'string') return new Date(tagged);
    }
    return v;
  }) as T;
}
