"use client";

import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { useRef, type ReactNode } from "react";
import { usePageOffset } from "./use-page-offset";

/** A table row's estimated height (measured once rendered). */
const ROW_ESTIMATE_PX = 49;

/**
 * A <tbody> that renders only the rows in view (and a screenful either side), windowed over the
 * page's scroll; spacer rows keep the table's height, so the scrollbar and the columns behave as
 * if every row were there. `row` must pass `measure` as the <tr>'s ref and `index` as data-index.
 */
export function WindowedRows<T>({
  items,
  columns,
  children: row,
}: {
  items: readonly T[];
  columns: number;
  children: (item: T, measure: (el: HTMLTableRowElement | null) => void, index: number) => ReactNode;
}) {
  const ref = useRef<HTMLTableSectionElement>(null);
  const scrollMargin = usePageOffset(ref);
  const virtualizer = useWindowVirtualizer({
    count: items.length,
    estimateSize: () => ROW_ESTIMATE_PX,
    overscan: 15,
    scrollMargin,
  });
  const rows = virtualizer.getVirtualItems();
  const before = rows.length > 0 ? rows[0]!.start - scrollMargin : 0;
  const after = rows.length > 0 ? virtualizer.getTotalSize() - (rows.at(-1)!.end - scrollMargin) : 0;
  return (
    <tbody ref={ref}>
      {before > 0 && (
        <tr aria-hidden style={{ height: before }}>
          <td colSpan={columns} />
        </tr>
      )}
      {rows.map((r) => row(items[r.index]!, virtualizer.measureElement, r.index))}
      {after > 0 && (
        <tr aria-hidden style={{ height: after }}>
          <td colSpan={columns} />
        </tr>
      )}
    </tbody>
  );
}
