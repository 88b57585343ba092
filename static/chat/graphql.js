// The one GraphQL client of the browser pages: `httpClient` for queries and mutations over
// HTTP (with the page's CSRF token), `liveConnection` for subscriptions over
// graphql-transport-ws, reconnecting with a growing delay. On every acknowledged connection
// it calls the page's `connected(session)`, which subscribes afresh from what the page has
// shown (the resume hook): subscriptions belong to one connection and end with it.

// Reconnecting: the first wait, doubled after every failure up to the longest.
const FIRST_DELAY_MS = 500;
const LONGEST_DELAY_MS = 10000;
// How long the client waits for the server's connection_ack before it tries again.
const ACK_TIMEOUT_MS = 5000;
// graphql-transport-ws close codes.
const CLOSE_FORBIDDEN = 4403; // the session has ended: reconnecting won't help
const CLOSE_ACK_TIMEOUT = 4408;

// A failed request: `message` is for the reader; `code` is the server's error code, or
// NETWORK (the server was not reached), HTTP (it answered, but not with GraphQL).
export class GraphQLFailure extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

// A growing delay: `next()` gives the wait to use now and doubles the next one.
export class Backoff {
  constructor() {
    this.reset();
  }

  reset() {
    this.delay = FIRST_DELAY_MS;
  }

  next() {
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, LONGEST_DELAY_MS);
    return wait;
  }
}

// graphql(query, variables) -> a promise of the result's data, or a GraphQLFailure.
export function httpClient(url, csrfToken) {
  return function graphql(query, variables) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ query: query, variables: variables }),
    }).then(
      (response) => response.json().then(
        (result) => {
          if (result.errors && result.errors.length) {
            const first = result.errors[0];
            throw new GraphQLFailure(first.message, first.extensions && first.extensions.code);
          }
          if (!response.ok) throw new GraphQLFailure("The server answered " + response.status + ".", "HTTP");
          return result.data;
        },
        () => {
          if (response.status === 403) {
            throw new GraphQLFailure("Your session has expired: reload the page and log in again.", "FORBIDDEN");
          }
          throw new GraphQLFailure("The server answered " + response.status + "; try again.", "HTTP");
        }
      ),
      () => {
        throw new GraphQLFailure("Could not reach the chat; check your connection and try again.", "NETWORK");
      }
    );
  };
}

function socketUrl(url) {
  const address = new URL(url, window.location.href);
  address.protocol = address.protocol === "https:" ? "wss:" : "ws:";
  return address.href;
}

// One acknowledged connection. `live`: it is still the page's connection (a late answer to
// something asked on an earlier one is dropped by checking it).
class Session {
  constructor(socket) {
    this.socket = socket;
    this.handlers = {};
    this.live = true;
  }

  send(message) {
    if (this.live && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  // handlers: { next(data), error(firstError), complete() }, each optional.
  subscribe(id, query, variables, handlers) {
    this.handlers[id] = handlers;
    const payload = variables ? { query: query, variables: variables } : { query: query };
    this.send({ id: id, type: "subscribe", payload: payload });
  }

  close(code, reason) {
    if (this.live) this.socket.close(code, reason);
  }

  receive(message) {
    const handlers = this.handlers[message.id] || {};
    if (message.type === "next") {
      const data = message.payload && message.payload.data;
      if (data && handlers.next) handlers.next(data);
    } else if (message.type === "error") {
      const first = message.payload && message.payload[0];
      if (window.console) console.warn("subscription " + message.id + " failed:", first && first.message);
      if (handlers.error) handlers.error(first || {});
    } else if (message.type === "complete") {
      delete this.handlers[message.id];
      if (handlers.complete) handlers.complete();
    }
  }
}

// hooks: connected(session) on every acknowledged connection; lost() when it drops;
// state(name, waitMs): "connected", "reconnecting" (waitMs until the next try, null while
// trying), "closed" (the session has ended: no more tries).
export function liveConnection(url, hooks) {
  const backoff = new Backoff();
  let session = null;
  let retryTimer = null;
  let stopped = false;

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    let socket;
    try {
      socket = new WebSocket(socketUrl(url), "graphql-transport-ws");
    } catch (error) {
      scheduleReconnect();
      return;
    }
    const current = new Session(socket);
    let ackTimer = null;
    session = current;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
      ackTimer = setTimeout(() => socket.close(CLOSE_ACK_TIMEOUT, "Connection acknowledgement timeout"), ACK_TIMEOUT_MS);
    });
    socket.addEventListener("message", (event) => {
      if (current !== session) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message.type === "connection_ack") {
        clearTimeout(ackTimer);
        backoff.reset();
        hooks.state("connected", null);
        hooks.connected(current);
      } else if (message.type === "ping") {
        current.send({ type: "pong" });
      } else {
        current.receive(message);
      }
    });
    socket.addEventListener("close", (event) => {
      if (current !== session) return;
      current.live = false;
      session = null;
      clearTimeout(ackTimer);
      if (hooks.lost) hooks.lost();
      if (event.code === CLOSE_FORBIDDEN) {
        stopped = true;
        hooks.state("closed", null);
        return;
      }
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (stopped || retryTimer) return;
    const wait = backoff.next();
    hooks.state("reconnecting", wait);
    retryTimer = setTimeout(() => {
      hooks.state("reconnecting", null);
      connect();
    }, wait);
  }

  // Back online: try now rather than at the end of the wait.
  window.addEventListener("online", () => {
    if (!session && retryTimer && !stopped) {
      backoff.reset();
      connect();
    }
  });

  connect();
}
