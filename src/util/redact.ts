/**
 * A connection string as it may be shown (error messages, logs): its password replaced by `***`.
 * Text that is not a URL is shown as it is unless it has user information (`…@`), which is hidden.
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text.trim());
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return text.includes('@') ? '(a connection string that is not a valid URL)' : text;
  }
}
