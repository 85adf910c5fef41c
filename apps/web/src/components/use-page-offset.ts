"use client";

import { useLayoutEffect, useState, type RefObject } from "react";

/**
 * How far below the top of the page an element starts (a windowed list's scroll margin). Read
 * again after every render, since what sits above it (filters, cards) may have changed height;
 * a new value re-renders only when it differs.
 */
export function usePageOffset(ref: RefObject<HTMLElement | null>): number {
  const [offset, setOffset] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const next = Math.round(el.getBoundingClientRect().top + window.scrollY);
    if (next !== offset) setOffset(next);
  });
  return offset;
}
