// The dispatch console: a live queue over a WebSocket, one-click actions, an alarm that
// sounds until someone acknowledges, and a loud banner when the link to the server is down.
(function () {
  "use strict";

  var root = document.getElementById("console");
  var strings = JSON.parse(document.getElementById("console-strings").textContent);
  var csrf = root.dataset.csrf;
  var targetMinutes = Number(root.dataset.targetMinutes) || 10;
  var SILENCE_LIMIT_MS = 12000; // the server speaks every 5 s; silence this long = dead link
  var DISCLAIMER = "triage.decision_support";

  var state = {
    alerts: [],
    selected: null,
    offset: 0, // server clock minus ours
    connected: false,
    lastHeard: 0,
    ws: null,
    retry: 0,
    cardVersion: null,
    responders: [],
  };

  function t(key, params) {
    var text = strings[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(params[name]));
    });
    return text;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "className") node.className = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  function now() {
    return Date.now() + state.offset;
  }

  function clock(ms) {
    var negative = ms < 0;
    var total = Math.floor(Math.abs(ms) / 1000);
    var m = Math.floor(total / 60);
    var s = total % 60;
    return (negative ? "-" : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }

  // ---- connection ---------------------------------------------------------------------

  function setConnected(on) {
    state.connected = on;
    root.dataset.connected = on ? "true" : "false";
    document.getElementById("conn").textContent = on ? "● " + t("alerts.console.connected") : "";
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/api/v1/console/ws");
    state.ws = ws;
    ws.onopen = function () {
      state.retry = 0;
      state.lastHeard = Date.now();
    };
    ws.onmessage = function (event) {
      state.lastHeard = Date.now();
      var msg = JSON.parse(event.data);
      state.offset = Date.parse(msg.now) - Date.now();
      if (msg.type === "snapshot") {
        setConnected(true);
        state.alerts = msg.alerts.slice().sort(queueOrder);
        renderQueue();
        refreshCard([]);
      } else if (msg.type === "changes") {
        applyChanges(msg.alerts, msg.closed);
        renderQueue();
        refreshCard(msg.alerts.map(function (a) { return a.id; }).concat(msg.closed));
      }
    };
    ws.onclose = function () {
      if (state.ws !== ws) return;
      setConnected(false);
      var delay = Math.min(5000, 500 * Math.pow(2, state.retry++));
      setTimeout(connect, delay);
    };
    ws.onerror = function () {
      ws.close();
    };
  }

  function watchdog() {
    if (state.connected && Date.now() - state.lastHeard > SILENCE_LIMIT_MS) {
      setConnected(false);
      if (state.ws) state.ws.close();
    }
  }

  // ---- the queue ----------------------------------------------------------------------

  var RANK = { RED: 0, YELLOW: 1, GREEN: 2, WHITE: 3 };

  function dueTime(a) {
    return a.due_at ? Date.parse(a.due_at) : Infinity;
  }

  // The server's order (triage/queue.py: colour, real before test, time left, risk, age),
  // kept here too because after the first snapshot alerts arrive one change at a time.
  function queueOrder(x, y) {
    return (
      RANK[x.priority] - RANK[y.priority] ||
      (x.test ? 1 : 0) - (y.test ? 1 : 0) ||
      dueTime(x) - dueTime(y) ||
      y.risk - x.risk ||
      Date.parse(x.created_at) - Date.parse(y.created_at)
    );
  }

  function applyChanges(changed, closed) {
    var byId = {};
    state.alerts.forEach(function (a) { byId[a.id] = a; });
    changed.forEach(function (a) {
      var held = byId[a.id];
      if (!held || held.version <= a.version) byId[a.id] = a; // never step back to an older read
    });
    closed.forEach(function (id) { delete byId[id]; });
    state.alerts = Object.keys(byId).map(function (id) { return byId[id]; }).sort(queueOrder);
  }

  function selectedAlert() {
    for (var i = 0; i < state.alerts.length; i++) {
      if (state.alerts[i].id === state.selected) return state.alerts[i];
    }
    return null;
  }

  function renderQueue() {
    var list = document.getElementById("queue");
    list.textContent = "";
    if (state.selected && !selectedAlert()) state.selected = null;
    if (!state.selected && state.alerts.length) state.selected = state.alerts[0].id;
    state.alerts.forEach(function (a) {
      var badges = [
        el("span", { className: "badge prio", text: t("alerts.priority." + a.priority) }),
        el("span", { className: "badge status", text: t("alerts.status." + a.status) }),
      ];
      if (a.test) badges.push(el("span", { className: "badge test", text: t("alerts.test") }));
      if (a.escalated && a.status === "new") {
        badges.push(el("span", { className: "badge warn", text: t("alerts.console.escalated") }));
      }
      if (a.sla_breached) {
        badges.push(el("span", { className: "badge warn", text: t("alerts.console.sla_breached") }));
      }
      var why = a.row_reasons.map(function (r) { return r.text; }).join("; ");
      if (a.press_count > 1) {
        badges.push(el("span", { className: "badge", text: t("alerts.console.pressed_times", { count: a.press_count }) }));
      }
      var item = el(
        "li",
        {
          className: "alert prio-" + a.priority + (a.id === state.selected ? " selected" : "") + (a.alarm ? " alarming" : ""),
          "data-id": a.id,
          "data-status": a.status,
          "data-priority": a.priority,
          tabindex: "0",
        },
        [
          el("div", { className: "who" }, [
            el("strong", { text: a.elder_name }),
            el("span", { text: (a.elder_age ? " · " + t("alerts.card.age", { age: a.elder_age }) : "") + (a.community ? " · " + a.community : "") }),
          ]),
          el("div", { className: "what", title: why }, [
            el("strong", { className: "kind", text: t("alerts.kind." + a.kind) }),
            why ? el("span", { className: "why", text: " — " + why }) : null,
          ]),
          el("div", { className: "badges" }, badges),
          el("div", { className: "clocks" }, [
            el("span", { className: "elapsed", "data-since": a.created_at }),
            a.due_at ? el("span", { className: "left", "data-due": a.due_at }) : null,
          ]),
        ]
      );
      item.addEventListener("click", function () {
        select(a.id);
      });
      list.appendChild(item);
    });
    document.getElementById("count").textContent = "(" + state.alerts.length + ")";
    document.getElementById("empty").hidden = state.alerts.length > 0;
    tickClocks();
    updateAlarm();
  }

  function tickClocks() {
    var current = now();
    document.querySelectorAll("[data-since]").forEach(function (node) {
      node.textContent = clock(current - Date.parse(node.dataset.since));
    });
    document.querySelectorAll("[data-due]").forEach(function (node) {
      var left = Date.parse(node.dataset.due) - current;
      node.textContent = left >= 0 ? t("alerts.console.target", { minutes: targetMinutes }) + " " + clock(left) : t("alerts.console.overdue") + " " + clock(-left);
      node.classList.toggle("overdue", left < 0);
    });
  }

  function select(id) {
    state.selected = id;
    state.cardVersion = null;
    renderQueue();
    loadCard();
  }

  function move(step) {
    if (!state.alerts.length) return;
    var index = state.alerts.findIndex(function (a) { return a.id === state.selected; });
    index = Math.max(0, Math.min(state.alerts.length - 1, index + step));
    select(state.alerts[index].id);
  }

  // ---- the alarm ----------------------------------------------------------------------

  var audio = { ctx: null, osc: null, timer: null };
  var soundButton = document.getElementById("enable-sound");

  function soundOn() {
    return !!audio.ctx && audio.ctx.state === "running";
  }

  function showSound() {
    var on = soundOn();
    root.dataset.sound = on ? "on" : "off";
    soundButton.hidden = on;
  }

  // Browsers keep a page silent until the person clicks or presses a key on it. Any such
  // gesture switches the sound on, not only the button; the button says it is still off.
  function unlockSound() {
    if (!audio.ctx) {
      audio.ctx = new (window.AudioContext || window.webkitAudioContext)();
      audio.ctx.onstatechange = function () {
        showSound();
        updateAlarm();
      };
    }
    if (audio.ctx.state !== "running") audio.ctx.resume().then(showSound, function () {});
    showSound();
  }

  function startTone() {
    if (!soundOn()) {
      root.dataset.alarm = "blocked";
      return;
    }
    if (audio.osc) return;
    var osc = audio.ctx.createOscillator();
    var gain = audio.ctx.createGain();
    osc.type = "square";
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain);
    gain.connect(audio.ctx.destination);
    osc.start();
    audio.osc = osc;
    var high = true;
    audio.timer = setInterval(function () {
      high = !high;
      osc.frequency.setValueAtTime(high ? 880 : 660, audio.ctx.currentTime);
    }, 400);
    root.dataset.alarm = "on";
  }

  function stopTone() {
    if (audio.osc) {
      audio.osc.stop();
      audio.osc.disconnect();
      audio.osc = null;
      clearInterval(audio.timer);
    }
    root.dataset.alarm = "off";
  }

  function updateAlarm() {
    var ringing = state.alerts.some(function (a) { return a.alarm; });
    if (ringing) startTone();
    else stopTone();
  }

  soundButton.addEventListener("click", unlockSound);
  document.addEventListener("click", unlockSound, true);
  document.addEventListener("keydown", unlockSound, true);

  // ---- the elder card -----------------------------------------------------------------

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function refreshCard(changed) {
    var a = selectedAlert();
    if (!a) {
      renderEmptyCard();
      return;
    }
    if (state.cardVersion !== a.version || changed.indexOf(a.id) >= 0) loadCard();
  }

  function renderEmptyCard() {
    var card = document.getElementById("card");
    card.textContent = "";
    card.appendChild(el("p", { className: "hint", text: t("alerts.console.select_alert") }));
  }

  function loadCard() {
    var a = selectedAlert();
    if (!a) return renderEmptyCard();
    var id = a.id;
    Promise.all([api("GET", "/api/v1/alerts/" + id), api("GET", "/api/v1/responders")]).then(function (results) {
      if (state.selected !== id || !results[0].ok) return;
      state.responders = results[1].ok ? results[1].data : [];
      state.cardVersion = results[0].data.alert.version;
      renderCard(results[0].data);
    });
  }

  function field(label, value, extra) {
    // An empty field still shows, as a dash: "no access notes" is itself information.
    value = value || "—";
    return el("div", { className: "field" }, [el("span", { className: "label", text: label }), el("span", { className: "value", text: value }), extra || null]);
  }

  function renderCard(detail) {
    var a = detail.alert;
    var e = detail.elder;
    var card = document.getElementById("card");
    card.textContent = "";
    card.className = "card prio-" + a.priority;
    card.dataset.id = a.id;
    card.dataset.status = a.status;

    var flags = [];
    if (e.lives_alone) flags.push(t("alerts.card.lives_alone"));
    if (e.has_carer === false) flags.push(t("alerts.card.no_carer"));
    if (e.fall_risk) flags.push(t("alerts.card.fall_risk"));

    var actions = el("div", { className: "actions" });
    var keys = { acknowledge: "A", dispatch: "D", "on-scene": "S", transport: "T", resolve: "R", "false-alarm": "F", cancel: "" };
    var responderSelect = null;
    if (a.actions.indexOf("dispatch") >= 0) {
      responderSelect = el("select", { id: "responder", "aria-label": t("alerts.console.responder") });
      state.responders.filter(function (r) { return r.status === "available"; }).forEach(function (r) {
        responderSelect.appendChild(el("option", { value: r.id, text: r.name + " (" + t("alerts.responder.kind." + r.kind) + ")" }));
      });
      if (!responderSelect.options.length) responderSelect.appendChild(el("option", { value: "", text: t("alerts.console.no_responder") }));
      actions.appendChild(el("label", { className: "responder" }, [el("span", { text: t("alerts.console.responder") + " " }), responderSelect]));
    }
    a.actions.forEach(function (action) {
      var button = el("button", { type: "button", className: "act act-" + action, "data-action": action }, [
        el("span", { text: t("alerts.action." + action) }),
        keys[action] ? el("kbd", { text: keys[action] }) : null,
      ]);
      button.addEventListener("click", function () { perform(action); });
      actions.appendChild(button);
    });

    var contacts = el("ul", { className: "contacts" });
    e.contacts.forEach(function (c) {
      contacts.appendChild(el("li", {}, [
        el("span", { text: c.name + " (" + c.relation + ") " }),
        el("a", { href: "tel:" + c.phone, className: "tel", text: c.phone }),
      ]));
    });
    contacts.appendChild(el("li", {}, [el("a", { href: "tel:1669", className: "tel", text: t("alerts.card.ems") })]));

    var readings = el("ul", { className: "readings" });
    e.readings.forEach(function (r) {
      readings.appendChild(el("li", { className: r.priority ? "prio-" + r.priority : "" }, [
        el("span", { text: r.label + ": " }),
        el("strong", { text: r.value + " " + r.unit }),
        el("span", { className: "when", text: " · " + new Date(r.observed_at).toLocaleString(document.documentElement.lang === "th" ? "th-TH" : "en-GB") }),
      ]));
    });
    if (!e.readings.length) readings.appendChild(el("li", { text: t("alerts.card.no_readings") }));

    var timeline = el("ol", { className: "timeline" });
    detail.timeline.forEach(function (item) {
      var when = new Date(item.at).toLocaleTimeString(document.documentElement.lang === "th" ? "th-TH" : "en-GB");
      timeline.appendChild(el("li", { "data-action": item.action }, [
        el("time", { text: when + " " }),
        el("span", { text: item.text }),
        el("span", { className: "actor", text: " — " + (item.actor_name || t("alerts.system")) }),
        item.note ? el("div", { className: "note", text: item.note }) : null,
      ]));
    });

    var phone = e.phone ? el("a", { href: "tel:" + e.phone, className: "tel", text: e.phone }) : null;
    card.appendChild(el("h2", { text: e.name + (e.age ? " · " + t("alerts.card.age", { age: e.age }) : "") }));
    card.appendChild(el("p", { className: "kind", text: t("alerts.priority." + a.priority) + " · " + t("alerts.kind." + a.kind) + (a.test ? " · " + t("alerts.test") : "") + " · " + t("alerts.status." + a.status) }));
    if (a.acknowledged_by_name) card.appendChild(el("p", { text: t("alerts.console.acknowledged_by", { name: a.acknowledged_by_name }) }));
    card.appendChild(actions);
    // The disclaimer qualifies every reason, so it is said once, small, under the list.
    var reasons = el("ul", { className: "reasons" });
    a.reasons.forEach(function (r) {
      if (r.key !== DISCLAIMER) reasons.appendChild(el("li", { "data-key": r.key, text: r.text }));
    });
    card.appendChild(reasons);
    card.appendChild(el("p", { className: "small disclaimer", text: t("alerts.card.decision_support") }));
    if (flags.length) card.appendChild(el("p", { className: "flags", text: flags.join(" · ") }));
    if (phone) card.appendChild(el("p", {}, [phone]));
    card.appendChild(field(t("alerts.card.address"), (e.address || "") + " " + e.community, e.map_url ? el("a", { href: e.map_url, target: "_blank", rel: "noopener", className: "map", text: " " + t("alerts.card.map") }) : null));
    card.appendChild(field(t("alerts.card.access"), e.access_notes));
    card.appendChild(field(t("alerts.card.conditions"), e.chronic_conditions.join(", ")));
    card.appendChild(field(t("alerts.card.medications"), e.medications));
    card.appendChild(field(t("alerts.card.allergies"), e.allergies));
    card.appendChild(el("h3", { text: t("alerts.card.contacts") }));
    card.appendChild(contacts);
    card.appendChild(el("h3", { text: t("alerts.card.readings") }));
    card.appendChild(readings);
    card.appendChild(el("h3", { text: t("alerts.card.timeline") }));
    card.appendChild(timeline);
  }

  // ---- actions ------------------------------------------------------------------------

  function toast(text) {
    var node = document.getElementById("toast");
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { node.hidden = true; }, 6000);
  }

  function perform(action) {
    var a = selectedAlert();
    if (!a || a.actions.indexOf(action) < 0) return;
    if (action === "cancel" || action === "false-alarm") return askReason(a, action);
    var body = {};
    if (action === "dispatch") {
      var select = document.getElementById("responder");
      if (!select || !select.value) return toast(t("alerts.error.responder_required"));
      body.responder_id = select.value;
    }
    send(a.id, action, body);
  }

  function send(id, action, body) {
    api("POST", "/api/v1/alerts/" + id + "/" + action, body).then(function (result) {
      if (result.ok) return;
      var d = result.data.detail || {};
      if (result.status === 409) {
        toast(t("alerts.console.conflict", { status: t("alerts.status." + d.status), who: d.acknowledged_by ? "(" + d.acknowledged_by + ")" : "" }));
      } else {
        toast((d.message || t("alerts.console.failed")));
      }
    }, function () {
      toast(t("alerts.console.failed"));
    });
  }

  // ---- the reason form (cancel, false alarm) ------------------------------------------

  var reasonDialog = document.getElementById("reason-dialog");
  var reasonForm = document.getElementById("reason-form");
  var reasonText = document.getElementById("reason-text");
  var reasonError = document.getElementById("reason-error");
  var pendingReason = null;

  function askReason(a, action) {
    // The alert is fixed when the form opens: the queue may reorder while someone types.
    pendingReason = { id: a.id, action: action };
    document.getElementById("reason-title").textContent = t("alerts.action." + action);
    document.getElementById("reason-alert").textContent = a.elder_name + " · " + t("alerts.kind." + a.kind);
    document.getElementById("reason-confirm").textContent = t("alerts.action." + action);
    reasonText.value = "";
    reasonError.hidden = true;
    reasonDialog.showModal();
    reasonText.focus();
  }

  reasonForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var note = reasonText.value.trim();
    if (!note || !pendingReason) {
      reasonError.hidden = false;
      reasonText.focus();
      return;
    }
    var pending = pendingReason;
    reasonDialog.close();
    send(pending.id, pending.action, { note: note });
  });

  reasonText.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      reasonForm.requestSubmit();
    }
  });

  document.getElementById("reason-cancel").addEventListener("click", function () {
    reasonDialog.close();
  });

  reasonDialog.addEventListener("close", function () {
    // The close event is queued: a quick Escape then F can reopen the form before it runs,
    // and the reopened form must keep its alert and its cursor.
    if (reasonDialog.open) return;
    pendingReason = null;
    if (reasonDialog.contains(document.activeElement)) document.activeElement.blur();
  });

  // By physical key (event.code), not by the character typed: on the Thai Kedmanee layout
  // A types "ฟ" and D "ก", and dispatchers switch to Thai to write notes.
  var SHORTCUTS = { KeyA: "acknowledge", KeyD: "dispatch", KeyS: "on-scene", KeyT: "transport", KeyR: "resolve", KeyF: "false-alarm" };

  document.addEventListener("keydown", function (event) {
    if (reasonDialog.open) return; // keys belong to the form; Escape closes it natively
    var tag = (event.target.tagName || "").toLowerCase();
    // Just after the form closes its textarea may still hold focus for a moment; it is not
    // someone typing, so shortcuts apply.
    var typing = (tag === "input" || tag === "textarea") && !reasonDialog.contains(event.target);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.code === "ArrowDown") { move(1); event.preventDefault(); return; }
    if (event.code === "ArrowUp") { move(-1); event.preventDefault(); return; }
    var action = SHORTCUTS[event.code];
    if (action) {
      event.preventDefault();
      perform(action);
    }
  });

  setInterval(tickClocks, 250);
  setInterval(watchdog, 1000);
  setConnected(false);
  unlockSound();
  connect();
})();
