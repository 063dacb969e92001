import type { ChangeEvent } from 'react';

/** Addresses from pasted text or a file: one per line, or separated by commas or semicolons; a header line is skipped. */
export function parseAddresses(text: string): string[] {
  return text.split(/[\r\n,;]+/).map((s) => s.trim().replace(/^"|"$/g, '')).filter((s) => s.length > 0 && s.toLowerCase() !== 'email');
}

/** A box to paste addresses into, or a CSV or text file to read them from (the file's text fills the box). */
export function AddressInput({ value, onChange, testId }: { value: string; onChange: (text: string) => void; testId: string }) {
  const readFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (file) onChange(await file.text());
  };
  return (
    <>
      <label className="field">Addresses (one per line, or separated by commas)
        <textarea rows={5} cols={40} value={value} onChange={(e) => onChange(e.target.value)} data-testid={`${testId}-text`} />
      </label>
      <label className="field">Or a file (CSV or text)
        <input type="file" accept=".csv,.txt,text/csv,text/plain" onChange={(e) => void readFile(e)} data-testid={`${testId}-file`} />
      </label>
    </>
  );
}
