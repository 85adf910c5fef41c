"use client";

import type { ReactNode } from "react";
import { Modal } from "./modal";

/**
 * The product's own "are you sure?": a modal that says what will happen, with the action named
 * on its button. Escape, the × and "Keep as it is" change nothing.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  danger = false,
  busy = false,
  onConfirm,
  onCancel,
  testId = "confirm-dialog",
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  testId?: string;
}) {
  return (
    <Modal
      title={title}
      onClose={onCancel}
      testId={testId}
      size="small"
      footer={
        <>
          <button type="button" className="button button--ghost" data-testid="confirm-cancel" onClick={onCancel} autoFocus>
            Keep as it is
          </button>
          <button
            type="button"
            className={`button ${danger ? "button--danger" : "button--primary"}`}
            data-testid="confirm-ok"
            disabled={busy}
            onClick={onConfirm}
          >
            {confirmLabel}
          </button>
        </>
      }
    >
      <div className="confirm__body">{children}</div>
    </Modal>
  );
}
