// Sending: createPost over HTTP with a client id, so a retried post is stored once. The post
// itself arrives over the live stream like everyone else's.

const CREATE_POST = "mutation($input: CreatePostInput!){ createPost(input:$input){ success requestId } }";
// Failures after which the first attempt may still have reached the server.
const UNCERTAIN = ["NETWORK", "UNAVAILABLE", "HTTP"];

function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => (b + 256).toString(16).slice(1)).join("");
}

// replyTo(): the id of the post a new post answers (the thread panel's), or null.
export function composer({ graphql, form, box, roomId, sendError = document.getElementById("send-error"), replyTo = () => null }) {
  let sending = false;
  // Kept only while the same text is retried after a failure that may not have been final,
  // so the server stores it once even if the first attempt did reach it.
  let pending = null;

  function showSendError(message) {
    sendError.textContent = message;
    sendError.hidden = false;
  }

  function send() {
    const body = box.value;
    if (sending) return;
    if (!body.trim()) {
      showSendError("A post can't be empty.");
      return;
    }
    const answers = replyTo();
    const clientId = pending && pending.body === body && pending.answers === answers ? pending.clientId : newClientId();
    pending = null;
    sending = true;
    form.classList.add("is-sending");
    const input = { roomId: roomId, body: body, clientId: clientId };
    if (answers) input.replyTo = answers;
    graphql(CREATE_POST, { input: input }).then(
      () => {
        if (box.value === body) box.value = "";
        sendError.hidden = true;
        sendError.textContent = "";
      },
      (failure) => {
        if (UNCERTAIN.includes(failure.code)) pending = { body: body, clientId: clientId, answers: answers };
        showSendError(failure.message || "Your post was not sent; try again.");
      }
    ).then(() => {
      sending = false;
      form.classList.remove("is-sending");
      box.focus();
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  box.addEventListener("input", () => {
    if (!sendError.hidden && box.value === "") sendError.hidden = true;
  });
}
