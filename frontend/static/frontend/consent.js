// The research-consent dialog: a native <dialog> opened with showModal() (the page behind is inert),
// Tab and Shift+Tab kept among its own buttons, Escape meaning "Not now". `record` stores the consent
// (the dialog stays open with its message if it fails); onAccept and onDecline run once it is closed,
// when the page behind can take the focus again.

const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function createConsentDialog(dialog, { record, onAccept, onDecline }) {
  const accept = dialog.querySelector("#consent-accept");
  const decline = dialog.querySelector("#consent-decline");
  const error = dialog.querySelector("#consent-error");

  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const items = Array.from(dialog.querySelectorAll(FOCUSABLE));
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const inside = dialog.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  });
  // Escape closes a modal dialog with a "cancel" event: that is a "Not now".
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    close();
    onDecline();
  });
  accept.addEventListener("click", async () => {
    accept.disabled = true;
    error.hidden = true;
    try {
      await record();
    } catch (failure) {
      error.textContent = failure?.detail || "Something went wrong. Please try again.";
      error.hidden = false;
      return;
    } finally {
      accept.disabled = false;
    }
    close();
    onAccept();
  });
  decline.addEventListener("click", () => {
    close();
    onDecline();
  });

  function open() {
    error.hidden = true;
    accept.disabled = false;
    if (!dialog.open) dialog.showModal();
    accept.focus();
  }

  function close() {
    if (dialog.open) dialog.close();
  }

  return { open, close, get isOpen() { return dialog.open; } };
}
