const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Parses the SigV4 timestamp form `YYYYMMDDTHHMMSSZ` (ISO 8601 basic, UTC); undefined when invalid. */
export function parseAmzDate(value: string): Date | undefined {
  const m = AMZ_DATE.exec(value);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Rejects dates that Date.UTC silently rolls over, such as month 13 or 25:00.
  return formatAmzDate(date) === value ? date : undefined;
}

/** Formats a time as the SigV4 timestamp `YYYYMMDDTHHMMSSZ`. */
export function formatAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/**
 * Parses an HTTP `Date` header for SigV4: the IMF-fixdate of RFC 9110 (`Fri, 24 May 2013 00:00:00 GMT`),
 * or the SigV4 form, which some clients put there. Undefined when neither.
 */
export function parseHttpDate(value: string): Date | undefined {
  const amz = parseAmzDate(value);
  if (amz !== undefined) return amz;
  if (!IMF_FIXDATE.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
