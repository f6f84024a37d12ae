// cosell's GraphiQL: asks for the token first, checks it against the API, then opens GraphiQL
// with it on every request and on the WebSocket for subscriptions. Served with a
// Content-Security-Policy that allows scripts from this server only.
(function () {
  "use strict";
  var KEY = "cosell.graphiql.token";
  var form = document.getElementById("token-form");
  var input = document.getElementById("token");
  var error = document.getElementById("token-error");
  var signIn = document.getElementById("sign-in");
  var signedIn = document.getElementById("signed-in");
  var principal = document.getElementById("principal");
  var container = document.getElementById("graphiql");
  var root = null;

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
    signIn.hidden = false;
    signedIn.hidden = true;
    container.hidden = true;
  }

  // Asks the API who the token is; resolves with the viewer or rejects with a message.
  function whoIs(token) {
    return fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
        Authorization: "Bearer " + token,
      },
      body: JSON.stringify({ query: "{ viewer { subject kind } }" }),
    })
      .then(function (res) {
        return res.json();
      })
      .then(function (body) {
        if (body && body.data && body.data.viewer) {
          return body.data.viewer;
        }
        var e = body && body.errors && body.errors[0];
        throw new Error(e ? e.message : "the server did not accept the token");
      });
  }

  function open(token, viewer) {
    var headers = { Authorization: "Bearer " + token };
    var ws = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql/ws";
    var fetcher = GraphiQL.createFetcher({
      url: location.origin + "/graphql",
      subscriptionUrl: ws,
      headers: headers,
      wsConnectionParams: headers,
    });
    principal.textContent = "Signed in as " + viewer.subject + " (" + viewer.kind + ")";
    signIn.hidden = true;
    error.hidden = true;
    signedIn.hidden = false;
    container.hidden = false;
    root = ReactDOM.createRoot(container);
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultQuery:
          "# Who you are, and the first deals you may see.\n" +
          "{\n  viewer { subject kind }\n  opportunities(first: 5) {\n    totalCount\n" +
          "    nodes { id name stage amount { amount currency } }\n  }\n}\n",
      })
    );
  }

  function tryToken(token) {
    return whoIs(token).then(
      function (viewer) {
        sessionStorage.setItem(KEY, token);
        open(token, viewer);
      },
      function (e) {
        sessionStorage.removeItem(KEY);
        fail("This token was refused: " + e.message);
      }
    );
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var token = input.value.trim().replace(/^Bearer\s+/i, "");
    if (!token) {
      fail("Paste a token first.");
      return;
    }
    tryToken(token);
  });

  document.getElementById("sign-out").addEventListener("click", function () {
    sessionStorage.removeItem(KEY);
    if (root) {
      root.unmount();
      root = null;
    }
    input.value = "";
    error.hidden = true;
    signedIn.hidden = true;
    container.hidden = true;
    signIn.hidden = false;
    input.focus();
  });

  var saved = sessionStorage.getItem(KEY);
  if (saved) {
    tryToken(saved);
  } else {
    input.focus();
  }
})();
