// The simulator dashboard's page script (runs in the browser): routes on the path, calls the real API with the session cookie, renders.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var path = location.pathname;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function enc(s) {
    return encodeURIComponent(s);
  }
  function api(p) {
    return fetch("/api/v2" + p, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) {
        return r.text().then(function (t) {
          var err = new Error("GET /api/v2" + p + ": " + r.status + " " + t.slice(0, 200));
          err.status = r.status;
          throw err;
        });
      }
      return r.json();
    });
  }
  function render(html) {
    main.innerHTML = html;
  }
  function table(head, rows) {
    return '<table class="MuiTable-root"><thead><tr>' + head.map(function (h) { return "<th>" + esc(h) + "</th>"; }).join("") +
      '</tr></thead><tbody class="MuiTableBody-root">' + rows.join("") + "</tbody></table>";
  }
  function row(testid, href, cells) {
    return '<tr role="button" tabindex="0" data-testid="' + esc(testid) + '" data-href="' + esc(href) + '">' +
      cells.map(function (c) { return "<td>" + c + "</td>"; }).join("") + "</tr>";
  }
  function tabs(name, current) {
    return '<nav class="tabs">' + [["docs", "Docs"], ["files", "Source Code"], ["versions", "Versions"]].map(function (t) {
      var cur = t[0] === current ? ' aria-current="page"' : "";
      return '<a href="/templates/' + enc(name) + "/" + t[0] + '"' + cur + ">" + t[1] + "</a>";
    }).join("") + "</nav>";
  }
  function editor(text) {
    return '<div class="monaco-editor" role="code"><pre>' + esc(text) + "</pre></div>";
  }
  function when(iso) {
    return esc(iso ? new Date(iso).toLocaleString() : "");
  }

  // Clickable rows navigate like the real dashboard's table rows.
  document.addEventListener("click", function (ev) {
    var tr = ev.target.closest && ev.target.closest('tr[role="button"][data-href]');
    if (tr && !ev.target.closest("a")) location.assign(tr.getAttribute("data-href"));
  });

  var me;
  function org() {
    return me.organization_ids[0];
  }
  function template(name) {
    return api("/organizations/" + enc(org()) + "/templates/" + enc(name));
  }

  var pages = [
    [/^\/workspaces\/?$/, function () {
      return api("/workspaces?q=" + enc("owner:me") + "&limit=25").then(function (res) {
        render('<h1>Workspaces</h1><p><a href="/starter-templates">Create from a starter template</a></p>' +
          table(["Name", "Template", "Status", "Last used"], res.workspaces.map(function (w) {
            return row("workspace-" + w.id, "/@" + enc(w.owner_name) + "/" + enc(w.name),
              [esc(w.name), esc(w.template_display_name || w.template_name), esc(w.latest_build && w.latest_build.status), when(w.last_used_at)]);
          })));
      });
    }],
    [/^\/@([^/]+)\/([^/]+)\/builds\/(\d+)\/?$/, function (m) {
      return api("/users/" + m[1] + "/workspace/" + m[2] + "/builds/" + m[3]).then(function (b) {
        return api("/workspacebuilds/" + enc(b.id) + "/logs").then(function (logs) {
          render("<h1>Build #" + esc(b.build_number) + '</h1><section aria-label="Build details"><dl><dt>Status</dt><dd>' + esc(b.status) +
            "</dd><dt>Transition</dt><dd>" + esc(b.transition) + "</dd><dt>Started</dt><dd>" + when(b.created_at) + "</dd></dl><pre class=\"logs\">" +
            esc((logs || []).map(function (l) { return l.output; }).join("\n")) + "</pre></section>");
        });
      });
    }],
    [/^\/@([^/]+)\/([^/]+)\/?$/, function (m) {
      return api("/users/" + m[1] + "/workspace/" + m[2]).then(function (w) {
        return api("/workspaces/" + enc(w.id) + "/builds?limit=25").then(function (builds) {
          var base = "/@" + m[1] + "/" + m[2];
          render("<h1>" + esc(w.name) + '</h1><p>Template: <a href="/templates/' + enc(w.template_name) + '/docs">' + esc(w.template_name) + "</a></p>" +
            table(["Build", "Transition", "Status", "Created"], builds.map(function (b) {
              return row("build-" + b.id, base + "/builds/" + b.build_number, [esc("#" + b.build_number), esc(b.transition), esc(b.status), when(b.created_at)]);
            })));
        });
      });
    }],
    [/^\/templates\/?$/, function () {
      return api("/organizations/" + enc(org()) + "/templates").then(function (list) {
        render('<h1>Templates</h1><p><a href="/starter-templates">Starter templates</a></p>' +
          table(["Name", "Used by", "Updated"], list.map(function (t) {
            return row("template-" + t.id, "/templates/" + enc(t.name), ['<a href="/templates/' + enc(t.name) + '/docs">' + esc(t.display_name || t.name) + "</a>",
              esc(t.active_user_count), when(t.updated_at)]);
          })));
      });
    }],
    [/^\/templates\/([^/]+)\/versions\/([^/]+)\/?$/, function (m) {
      return template(decodeURIComponent(m[1])).then(function (t) {
        return api("/templates/" + enc(t.id) + "/versions/" + m[2]).then(function (v) {
          render("<h1>" + esc(t.name) + " / " + esc(v.name) + "</h1>" + editor(v.readme || v.message || ""));
        });
      });
    }],
    [/^\/templates\/([^/]+)\/versions\/?$/, function (m) {
      var name = decodeURIComponent(m[1]);
      return template(name).then(function (t) {
        return api("/templates/" + enc(t.id) + "/versions").then(function (versions) {
          render("<h1>" + esc(t.display_name || t.name) + "</h1>" + tabs(name, "versions") +
            table(["Version", "Message", "Created"], versions.map(function (v) {
              return row("version-" + v.id, "/templates/" + enc(name) + "/versions/" + enc(v.name), [esc(v.name), esc(v.message), when(v.created_at)]);
            })));
        });
      });
    }],
    [/^\/templates\/([^/]+)\/files\/?$/, function (m) {
      var name = decodeURIComponent(m[1]);
      return template(name).then(function (t) {
        return api("/templateversions/" + enc(t.active_version_id)).then(function (v) {
          render("<h1>" + esc(t.display_name || t.name) + "</h1>" + tabs(name, "files") + editor(v.readme || ""));
        });
      });
    }],
    [/^\/templates\/([^/]+)(?:\/docs)?\/?$/, function (m) {
      var name = decodeURIComponent(m[1]);
      return template(name).then(function (t) {
        return api("/templateversions/" + enc(t.active_version_id)).then(function (v) {
          render("<h1>" + esc(t.display_name || t.name) + "</h1>" + tabs(name, "docs") + '<article id="readme"><pre>' + esc(v.readme || t.description) + "</pre></article>");
        });
      });
    }],
    [/^\/users\/?$/, function () {
      return api("/users?limit=25").then(function (res) {
        render("<h1>Users</h1>" + table(["Username", "Email", "Status"], res.users.map(function (u) {
          return '<tr data-testid="user-' + esc(u.id) + '"><td>' + esc(u.username) + "</td><td>" + esc(u.email) + "</td><td>" + esc(u.status) + "</td></tr>";
        })));
      });
    }],
    [/^\/starter-templates\/([^/]+)\/?$/, function (m) {
      return api("/templates/examples").then(function (list) {
        var ex = list.filter(function (e) { return e.id === decodeURIComponent(m[1]); })[0];
        if (!ex) throw new Error("starter template not found");
        render("<h1>" + esc(ex.name) + '</h1><article id="readme"><pre>' + esc(ex.markdown || ex.description) + "</pre></article>");
      });
    }],
    [/^\/starter-templates\/?$/, function () {
      return api("/templates/examples").then(function (list) {
        render("<h1>Starter templates</h1><ul>" + list.map(function (e) {
          return '<li><a href="/starter-templates/' + enc(e.id) + '">' + esc(e.name) + "</a> " + esc(e.description) + "</li>";
        }).join("") + "</ul>");
      });
    }],
  ];

  // Every page load asks who is signed in first, as the real dashboard does.
  Promise.all([api("/users/me"), api("/buildinfo")])
    .then(function (r) {
      me = r[0];
      document.getElementById("whoami").textContent = me.username;
      for (var i = 0; i < pages.length; i++) {
        var m = pages[i][0].exec(path);
        if (m) return pages[i][1](m);
      }
      render("<h1>Page not found</h1>");
    })
    .catch(function (err) {
      render('<div role="alert" class="error"><h1>Something went wrong</h1><pre>' + esc(err && err.message) + "</pre></div>");
    });
})();
