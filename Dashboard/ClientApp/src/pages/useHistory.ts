import { useRef, useState } from 'react';

/** Edits kept for undo at most. */
const LIMIT = 200;

/** Edits of one group (typing in one field, key presses moving one step) this close together are one step of undo. */
const GROUP_WINDOW_MS = 1000;

/**
 * A value with undo and redo. `edit` is a step of undo; `preview` shows a change in progress (a drag) that the next
 * `edit` completes as one step; `replace` changes the value outside the history (what the server answered); `reset`
 * starts over. Several edits in one event each see the previous one's result.
 */
export function useHistory<T>(initial: T) {
  const [value, setValue] = useState(initial);
  const current = useRef(initial);
  const past = useRef<T[]>([]);
  const future = useRef<T[]>([]);
  const last = useRef<{ group?: string; at: number }>({ at: 0 });
  const before = useRef<T | null>(null);

  const set = (next: T) => {
    current.current = next;
    setValue(next);
  };

  const step = (from: T[], to: T[], merge: (to: T, from: T) => T): boolean => {
    const target = from.pop();
    if (target === undefined) return false;
    to.push(current.current);
    last.current = { at: 0 };
    before.current = null;
    set(merge(target, current.current));
    return true;
  };

  return {
    value,
    canUndo: past.current.length > 0,
    canRedo: future.current.length > 0,
    replace: (change: (v: T) => T) => set(change(current.current)),
    reset: (next: T) => {
      past.current = [];
      future.current = [];
      before.current = null;
      set(next);
    },
    preview: (change: (v: T) => T) => {
      before.current ??= current.current;
      set(change(current.current));
    },
    edit: (change: (v: T) => T, group?: string) => {
      const start = before.current ?? current.current;
      before.current = null;
      const next = change(current.current);
      if (next === start) return;
      const now = Date.now();
      const joined = group !== undefined && last.current.group === group && now - last.current.at < GROUP_WINDOW_MS;
      if (!joined) {
        past.current.push(start);
        if (past.current.length > LIMIT) past.current.shift();
      }
      future.current = [];
      last.current = { group, at: now };
      set(next);
    },
    /** Back one step; <merge> keeps in the restored value what must not go back (the server's fields). */
    undo: (merge: (to: T, from: T) => T) => step(past.current, future.current, merge),
    redo: (merge: (to: T, from: T) => T) => step(future.current, past.current, merge),
  };
}
