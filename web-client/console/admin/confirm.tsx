/**
 * Confirmation for destructive admin actions, on the kit's modal <dialog>: says what will happen,
 * and if the action fails the dialog stays open with the reason so the admin can retry or cancel.
 * Mounted only while asked, so its title is the only dialog title in the page besides the idle
 * warning's.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import { Button, Dialog, ErrorNote } from '../kit/ui.tsx';

export interface ConfirmProps {
  readonly title: string;
  readonly confirmLabel: string;
  readonly children: ComponentChildren;
  /** Runs the action; the dialog closes once it resolves. */
  readonly onConfirm: () => Promise<void>;
  readonly onClose: () => void;
  /** Messages for the error codes this action knows. */
  readonly own?: Readonly<Record<string, string>>;
}

export function Confirm(props: ConfirmProps): JSX.Element {
  const [error, setError] = useState<unknown>(undefined);
  const confirm = async (): Promise<void> => {
    try {
      await props.onConfirm();
      props.onClose();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog open title={props.title} onCancel={props.onClose} testId="confirm" role="alertdialog">
      <div class="form">
        {props.children}
        <ErrorNote error={error} {...(props.own === undefined ? {} : { own: props.own })} />
        <div class="row">
          <Button kind="danger" testId="confirm-yes" onClick={confirm}>
            {props.confirmLabel}
          </Button>
          <Button testId="confirm-no" onClick={props.onClose}>
            Cancel
          </Button>
        </div>
      </div>
    </Dialog>
  );
}
