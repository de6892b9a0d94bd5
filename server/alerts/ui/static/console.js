// The dispatch console: a live queue over a WebSocket, one-click actions, an alarm that
// sounds until someone acknowledges, and a loud banner when the link to the server is down.
(function () {
  "use strict";

  var root = document.getElementById("console");
  var strings = JSON.parse(document.getElementById("console-strings").textContent);
  var csrf = root.dataset.csrf;
  var targetMinutes = Number(root.dataset.targetMinutes); // the policy's, never assumed here
  var role = root.dataset.role;
  var SILENCE_LIMIT_MS = 12000; // the server speaks every 5 s; silence this long = dead link
  var DISCLAIMER = "triage.decision_support";
  var MISSING = "triage.news2.missing.";

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

  // What happened, in one line: the findings for readings (the kind "abnormal reading" says
  // nothing), the kind itself for a press, a fall or a device.
  function whatHappened(a) {
    var why = a.row_reasons.map(function (r) { return r.text; }).join("; ");
    if (a.kind === "vitals" && why) return { kind: "", why: why };
    return { kind: t("alerts.kind." + a.kind), why: why };
  }

  function renderQueue() {
    var list = document.getElementById("queue");
    list.textContent = "";
    if (state.selected && !selectedAlert()) state.selected = null;
    if (!state.selected && state.alerts.length) state.selected = state.alerts[0].id;
    state.alerts.forEach(function (a) {
      var badges = [el("span", { className: "badge status", text: t("alerts.status." + a.status) })];
      if (a.test) badges.push(el("span", { className: "badge test", text: t("alerts.test") }));
      if (a.escalated && a.status === "new") {
        badges.push(el("span", { className: "badge warn", text: t("alerts.console.escalated") }));
      }
      if (a.sla_breached) {
        badges.push(el("span", { className: "badge warn", text: t("alerts.console.sla_breached", { minutes: targetMinutes }) }));
      }
      if (a.press_count > 1) {
        badges.push(el("span", { className: "badge", text: t("alerts.console.pressed_times", { count: a.press_count }) }));
      }
      var what = whatHappened(a);
      var who = [a.elder_name];
      if (a.elder_age) who.push(t("alerts.card.age", { age: a.elder_age }));
      if (a.community) who.push(a.community);
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
          el("span", { className: "badge prio prio-block", text: t("alerts.priority_word." + a.priority) }),
          el("div", { className: "row-body" }, [
            el("div", { className: "what", title: what.why }, [
              what.kind ? el("strong", { className: "kind", text: what.kind }) : null,
              what.why ? el("span", { className: "why", text: (what.kind ? " — " : "") + what.why }) : null,
            ]),
            el("div", { className: "who", text: who.join(" · ") }),
            el("div", { className: "clocks" }, [
              el("span", { className: "elapsed", "data-since": a.created_at, "data-label": a.status === "new" ? "alerts.console.waiting" : "alerts.console.elapsed" }),
              a.due_at ? el("span", { className: "left", "data-due": a.due_at }) : null,
            ]),
            el("div", { className: "badges" }, badges),
          ]),
        ]
      );
      item.addEventListener("click", function () {
        select(a.id);
      });
      list.appendChild(item);
    });
    document.getElementById("count").textContent = t("alerts.console.count", { count: state.alerts.length });
    document.getElementById("empty").hidden = state.alerts.length > 0;
    tickClocks();
    updateAlarm();
  }

  // Every clock says what it counts: "waiting 0:59", "must be on scene within 9:00",
  // "past the target 1:20". A bare number at 3 a.m. is a puzzle.
  function tickClocks() {
    var current = now();
    document.querySelectorAll("[data-since]").forEach(function (node) {
      node.textContent = t(node.dataset.label || "alerts.console.elapsed", { clock: clock(current - Date.parse(node.dataset.since)) });
    });
    document.querySelectorAll("[data-due]").forEach(function (node) {
      var left = Date.parse(node.dataset.due) - current;
      node.textContent = left >= 0 ? t("alerts.console.due", { clock: clock(left) }) : t("alerts.console.late", { clock: clock(-left) });
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

  function field(label, value, extra, className) {
    // An empty field says so in words: "not recorded" is itself information, and differs
    // from "none".
    return el("div", { className: "field" + (className ? " " + className : "") }, [
      el("span", { className: "label", text: label }),
      el("span", { className: "value", text: value || t("alerts.card.not_recorded") }),
      extra || null,
    ]);
  }

  var LOCALE = document.documentElement.lang === "th" ? "th-TH" : "en-GB";
  var TIME_ZONE = root.dataset.timeZone || "Asia/Bangkok";

  function localTime(iso) {
    return new Date(iso).toLocaleTimeString(LOCALE, { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function localDateTime(iso) {
    return new Date(iso).toLocaleString(LOCALE, { timeZone: TIME_ZONE, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  // The clinical detail for a dispatcher: the partial NEWS2 lines and notes, with the
  // parameters a home kit did not measure said once, in one line.
  function clinicalBlock(a, e) {
    var box = el("details", { className: "clinical" });
    if (role === "clinician") box.open = true; // clinicians read it; dispatchers unfold it
    box.appendChild(el("summary", { text: t("alerts.card.clinical") }));
    var list = el("ul", { className: "reasons" });
    var missing = [];
    a.reasons.forEach(function (r) {
      if (r.key === DISCLAIMER) return;
      if (r.key.indexOf(MISSING) === 0) {
        missing.push(t("alerts.param." + r.key.slice(MISSING.length)));
        return;
      }
      list.appendChild(el("li", { "data-key": r.key, text: r.text }));
    });
    if (missing.length) list.appendChild(el("li", { className: "not-measured", text: t("alerts.card.not_measured", { list: missing.join(", ") }) }));
    box.appendChild(list);
    box.appendChild(field(t("alerts.card.conditions"), e.chronic_conditions.join(", ") || null));
    box.appendChild(field(t("alerts.card.medications"), e.medications));
    box.appendChild(el("p", { className: "small disclaimer", text: strings[DISCLAIMER] || "" }));
    return box;
  }

  function renderCard(detail) {
    var a = detail.alert;
    var e = detail.elder;
    var card = document.getElementById("card");
    card.textContent = "";
    card.className = "card prio-" + a.priority;
    card.dataset.id = a.id;
    card.dataset.status = a.status;

    // 1. Who, and the elder's own phone: the first call a dispatcher makes.
    card.appendChild(el("h2", { text: e.name + (e.age ? " · " + t("alerts.card.age", { age: e.age }) : "") }));
    card.appendChild(e.phone
      ? el("a", { href: "tel:" + e.phone, className: "tel call-elder", text: t("alerts.card.call_elder", { phone: e.phone }) })
      : el("p", { className: "call-elder missing", text: t("alerts.card.no_phone") }));

    // 2. What happened.
    var what = whatHappened(a);
    var head = el("p", { className: "happened" }, [
      el("span", { className: "badge prio", text: t("alerts.priority." + a.priority) }),
      el("strong", { text: " " + (what.kind || t("alerts.kind." + a.kind)) }),
      el("span", { text: (a.test ? " · " + t("alerts.test") : "") + " · " + t("alerts.status." + a.status) }),
    ]);
    card.appendChild(head);
    if (a.row_reasons.length) {
      var findings = el("ul", { className: "findings" });
      a.row_reasons.forEach(function (r) { findings.appendChild(el("li", { "data-key": r.key, text: r.text })); });
      card.appendChild(findings);
    }
    if (a.acknowledged_by_name) card.appendChild(el("p", { text: t("alerts.console.acknowledged_by", { name: a.acknowledged_by_name }) }));

    // 3. What to ask on the phone, and when to call 1669.
    var script = el("div", { className: "script" }, [el("h3", { text: t("alerts.script.title") })]);
    var steps = el("ol");
    (strings["alerts.script." + a.kind] || strings["alerts.script.device"] || "").split("\n").forEach(function (line) {
      if (line) steps.appendChild(el("li", { text: line }));
    });
    script.appendChild(steps);
    script.appendChild(el("p", { className: "ems-line" }, [
      el("span", { text: t("alerts.script.ems") + " " }),
      el("a", { href: "tel:1669", className: "tel", text: t("alerts.card.ems") }),
    ]));
    card.appendChild(script);

    // 4. The actions; cancel and false alarm are small and apart from the main ones.
    var actions = el("div", { className: "actions" });
    var secondary = el("div", { className: "actions secondary" });
    var keys = { acknowledge: "A", dispatch: "D", "on-scene": "S", transport: "T", resolve: "R", "false-alarm": "F", cancel: "" };
    if (a.actions.indexOf("dispatch") >= 0) {
      var responderSelect = el("select", { id: "responder", "aria-label": t("alerts.console.responder") });
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
      (action === "cancel" || action === "false-alarm" ? secondary : actions).appendChild(button);
    });
    card.appendChild(actions);
    if (secondary.childNodes.length) card.appendChild(secondary);

    // 5. Flags, allergies in red.
    var flags = [];
    if (e.lives_alone) flags.push(t("alerts.card.lives_alone"));
    if (e.has_carer === false) flags.push(t("alerts.card.no_carer"));
    if (e.fall_risk) flags.push(t("alerts.card.fall_risk"));
    if (flags.length) card.appendChild(el("p", { className: "flags", text: flags.join(" · ") }));
    card.appendChild(field(t("alerts.card.allergies"), e.allergies, null, e.allergies ? "allergies" : ""));

    // 6. Where, and how to get in.
    card.appendChild(field(t("alerts.card.address"), [e.address, e.community].filter(Boolean).join(" "), e.map_url ? el("a", { href: e.map_url, target: "_blank", rel: "noopener", className: "map", text: " " + t("alerts.card.map") }) : null));
    card.appendChild(field(t("alerts.card.access"), e.access_notes));

    // 7. Contacts, readings, timeline.
    var contacts = el("ul", { className: "contacts" });
    e.contacts.forEach(function (c) {
      contacts.appendChild(el("li", {}, [
        el("span", { text: c.name + " (" + c.relation + ") " }),
        el("a", { href: "tel:" + c.phone, className: "tel", text: c.phone }),
      ]));
    });
    contacts.appendChild(el("li", {}, [el("a", { href: "tel:1669", className: "tel", text: t("alerts.card.ems") })]));
    card.appendChild(el("h3", { text: t("alerts.card.contacts") }));
    card.appendChild(contacts);

    var readings = el("ul", { className: "readings" });
    e.readings.forEach(function (r) {
      readings.appendChild(el("li", { className: r.priority ? "prio-" + r.priority : "" }, [
        el("span", { text: r.label + ": " }),
        el("strong", { text: r.value + " " + r.unit }),
        el("span", { className: "when", text: " · " + localDateTime(r.observed_at) }),
      ]));
    });
    if (!e.readings.length) readings.appendChild(el("li", { text: t("alerts.card.no_readings") }));
    card.appendChild(el("h3", { text: t("alerts.card.readings") }));
    card.appendChild(readings);

    var timeline = el("ol", { className: "timeline" });
    detail.timeline.forEach(function (item) {
      timeline.appendChild(el("li", { "data-action": item.action }, [
        el("time", { text: localTime(item.at) + " " }),
        el("span", { text: item.text }),
        el("span", { className: "actor", text: " — " + (item.actor_name || t("alerts.system")) }),
        item.note ? el("div", { className: "note", text: item.note }) : null,
      ]));
    });
    card.appendChild(el("h3", { text: t("alerts.card.timeline") }));
    card.appendChild(timeline);

    // 8. Clinical detail, folded for a dispatcher.
    card.appendChild(clinicalBlock(a, e));
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
