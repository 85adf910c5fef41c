"use client";

import Link from "next/link";
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import type { VmActionItem, VmActionKey } from "../lib/vm-actions";

/**
 * A VM's actions as a menu button (WAI-ARIA menu pattern): Enter, Space or ↓ opens it on the
 * first item, ↑/↓/Home/End move, Escape closes it and gives focus back to the button. A
 * disabled item stays reachable and says why in plain view beside it (not only in a tooltip).
 * The list opens inside the card, pushing what follows down, so it is never clipped or off-screen.
 */
export function VmActionsMenu({
  vmName,
  vmId,
  items,
  onChoose,
}: {
  vmName: string;
  vmId: string;
  items: readonly VmActionItem[];
  onChoose: (key: Exclude<VmActionKey, "open">) => void;
}) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const button = useRef<HTMLButtonElement>(null);
  const itemRefs = useRef<(HTMLElement | null)[]>([]);
  const wrapper = useRef<HTMLDivElement>(null);
  const menuId = useId();

  useEffect(() => {
    if (open) itemRefs.current[active]?.focus();
  }, [open, active]);

  // A click elsewhere closes it (focus stays where the click put it).
  useEffect(() => {
    if (!open) return;
    const onPointer = (e: PointerEvent) => {
      if (!wrapper.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    return () => document.removeEventListener("pointerdown", onPointer);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const openAt = (i: number) => {
    setActive(i);
    setOpen(true);
  };

  const onMenuKey = (e: KeyboardEvent) => {
    const last = items.length - 1;
    const moves: Record<string, () => number> = {
      ArrowDown: () => (active >= last ? 0 : active + 1),
      ArrowUp: () => (active <= 0 ? last : active - 1),
      Home: () => 0,
      End: () => last,
    };
    const move = moves[e.key];
    if (move) {
      e.preventDefault();
      setActive(move());
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    } else if (e.key === "Tab") setOpen(false);
  };

  return (
    <div className="vm-menu" ref={wrapper}>
      <button
        ref={button}
        type="button"
        className="button button--small button--ghost"
        data-testid={`vm-actions-${vmName}`}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => (open ? setOpen(false) : openAt(0))}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            openAt(e.key === "ArrowDown" ? 0 : items.length - 1);
          }
        }}
      >
        Actions <span aria-hidden>▾</span>
      </button>
      {open && (
        <ul className="vm-menu__list" role="menu" id={menuId} aria-label={`Actions for ${vmName}`} onKeyDown={onMenuKey}>
          {items.map((item, i) => {
            const whyId = `${menuId}-${item.key}-why`;
            const common = {
              role: "menuitem",
              tabIndex: i === active ? 0 : -1,
              className: "vm-menu__item",
              "data-testid": `vm-action-${item.key}-${vmName}`,
              "aria-disabled": item.disabledReason !== null ? true : undefined,
              "aria-describedby": item.disabledReason ? whyId : undefined,
              ref: (el: HTMLElement | null) => {
                itemRefs.current[i] = el;
              },
            } as const;
            return (
              <li key={item.key} role="none" className="vm-menu__row">
                {item.key === "open" ? (
                  <Link {...common} href={`/vms/${vmId}`}>
                    {item.label}
                  </Link>
                ) : (
                  <button
                    {...common}
                    type="button"
                    onClick={() => {
                      if (item.disabledReason !== null) return;
                      // The dialog it opens gives focus back to the element focused when it opened: the button.
                      close();
                      onChoose(item.key as Exclude<VmActionKey, "open">);
                    }}
                  >
                    {item.label}
                  </button>
                )}
                {item.disabledReason && (
                  <span className="why vm-menu__why" id={whyId} data-testid={`vm-action-why-${item.key}-${vmName}`}>
                    {item.disabledReason}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
