"use client";

import { useEffect, useRef, type ReactNode } from "react";

/** A native modal <dialog>: focus trapping, Escape and the backdrop come from the browser. */
export function Modal({
  title,
  onClose,
  children,
  footer,
  testId,
  size = "large",
}: {
  title: string;
  /** "small" for a confirmation; on a phone every dialog fills the screen. */
  size?: "small" | "large";
  onClose: () => void;
  children: ReactNode;
  /** The dialog's buttons; a form that holds its own submit button leaves it out. */
  footer?: ReactNode;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    // The element that opened the dialog gets focus back when it closes (not the page's body).
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      dialog?.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className={`modal modal--${size}`}
      data-testid={testId}
      aria-label={title}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <header className="modal__head">
        <h2>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="modal__body">{children}</div>
      {footer && <footer className="modal__foot">{footer}</footer>}
    </dialog>
  );
}
