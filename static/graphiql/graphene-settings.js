/*
 * graphene-django's graphiql.js reads window.GRAPHENE_SETTINGS, which its template set in
 * an inline script. Ours reads the same settings from data- attributes of #editor, so the
 * page runs under a Content-Security-Policy of script-src 'self'. Load it after #editor
 * and before graphene_django/graphiql.js.
 */
(function (document, window) {
  "use strict";
  var data = document.getElementById("editor").dataset;
  var settings = {
    graphiqlHeaderEditorEnabled: data.headerEditorEnabled === "true",
    graphiqlShouldPersistHeaders: data.shouldPersistHeaders === "true",
    graphiqlInputValueDeprecation: data.inputValueDeprecation === "true",
  };
  if (data.subscriptionPath) {
    settings.subscriptionPath = data.subscriptionPath;
  }
  window.GRAPHENE_SETTINGS = settings;
})(document, window);
