import { QueryClient, type UseQueryResult } from '@tanstack/react-query';
import type { FormEvent, ReactNode } from 'react';
import { ApiError, errorText, type Page } from './api';

/** One cache for the whole UI. A 4xx is an answer, not a hiccup: only other failures are retried, once. */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      refetchOnWindowFocus: false,
      retry: (failures, error) => failures < 1 && !(error instanceof ApiError && error.status < 500),
    },
  },
});

/** Says in words why there is nothing to show: a refusal (403), another failure, or loading. */
export function problemText(error: unknown, what: string): string {
  if (error instanceof ApiError && error.status === 403) {
    return `Your role does not allow you to see ${what}.`;
  }
  return `Could not load ${what}: ${errorText(error)}`;
}

/** Says why an action failed: a refusal (403) in words, otherwise the server's problem with each field it names. */
export function actionError(error: unknown): string {
  return error instanceof ApiError && error.status === 403 ? 'Your role does not allow this.' : errorText(error);
}

/** Renders a query's data, or its loading, error or empty state as text. */
export function QueryView<T>({ query, what, empty, isEmpty, children }: {
  query: UseQueryResult<T>;
  what: string;
  empty: string;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) {
    return <p className="muted" role="status">Loading {what}…</p>;
  }
  if (query.isError) {
    return <p className="error" role="alert" data-testid="query-error">{problemText(query.error, what)}</p>;
  }
  if (isEmpty?.(query.data)) {
    return <p className="muted" data-testid="empty">{empty}</p>;
  }
  return <>{children(query.data)}</>;
}

/** For `QueryView`: a page of a list is empty when it has no items. */
export const noItems = (page: Page<unknown>): boolean => page.items.length === 0;

/** A form's submit handler that stays on the page and runs the action. */
export function submitting(action: () => void): (e: FormEvent) => void {
  return (e) => {
    e.preventDefault();
    action();
  };
}
