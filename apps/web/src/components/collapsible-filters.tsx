"use client";

import { useId, useState, type ReactNode } from "react";

/**
 * A filters form that a phone shows folded behind one "Filters" button (with how many are
 * active), so the rows come first; wider screens always show it and never the button.
 */
export function CollapsibleFilters({
  active,
  className,
  testId,
  children,
}: {
  /** How many filters are set now. */
  active: number;
  className: string;
  testId: string;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <>
      <button
        type="button"
        className="button button--small filters-toggle"
        aria-expanded={open}
        aria-controls={id}
        data-testid={`${testId}-toggle`}
        onClick={() => setOpen(!open)}
      >
        {open ? "Hide filters" : "Filters"}
        {active > 0 ? ` · ${active} active` : ""}
      </button>
      <form
        id={id}
        className={`${className} filters--collapsible`}
        data-open={open}
        data-testid={testId}
        onSubmit={(e) => e.preventDefault()}
      >
        {children}
      </form>
    </>
  );
}
