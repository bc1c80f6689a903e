// Every piece of text the pages show, in one object: the English catalogue, which every other
// language's (strings.es.js, ...) mirrors key for key. Values are strings (or lists of them), or
// functions of a few named values where the wording depends on them. `t()` below reads the
// catalogue of the language chosen for the page (language.js), falling back to English.

import { DEFAULT_LANGUAGE, language } from "./language.js";
import { STRINGS as ES } from "./strings.es.js";

/** "Alex", "Alex and Sam", "Alex, Sam and Kim": names joined the way this language does. */
const listOf = (names) => new Intl.ListFormat("en", { style: "long", type: "conjunction" }).format(names);

export const STRINGS = {
  app: {
    name: "Rapport",
    tagline: "Calm, private video sessions",
    skip: "Skip to content",
  },

  landing: {
    title: "Rapport",
    heading: "Private video sessions with a waiting room",
    intro:
      "Rapport connects you and your therapist by video, straight from your browser. " +
      "Nothing to install, no account to create.",
    linksHeading: "Three kinds of link",
    clientTitle: "For clients: your session link",
    clientText:
      "Your therapist sends you a personal link. Open it a few minutes before your " +
      "appointment: you will check your camera and microphone, then wait in a quiet " +
      "waiting room until your therapist lets you in.",
    therapistTitle: "For therapists: your console",
    therapistText:
      "Your practice gives you a console link. From there you see who is waiting, " +
      "message them, let them in one by one or together, and create session links.",
    adminTitle: "For administrators: the monitor",
    adminText:
      "The monitor shows every active room: whether the therapist is there, how many " +
      "people wait and for how long, and lets you close a room.",
    privacyHeading: "Your privacy",
    privacyText:
      "Video and sound travel directly between the people in the session whenever " +
      "possible, encrypted. Rapport does not record sessions. Links carry their key " +
      "after the # sign, which browsers never send to any server.",
  },

  common: {
    loading: "Loading…",
    leave: "Leave",
    cancel: "Cancel",
    confirm: "Confirm",
    send: "Send",
    retry: "Try again",
    useHere: "Use this tab",
    mute: "Mute microphone",
    unmute: "Unmute microphone",
    cameraOff: "Turn camera off",
    cameraOn: "Turn camera on",
    you: "You",
    yourTherapist: "Your therapist", // a therapist who gave no name
    muted: "Muted",
    cameraIsOff: "Camera off",
    chat: "Chat",
    chatLog: "Chat messages",
    chatLabel: "Write a message",
    chatFrom: (name, time) => `${name}, ${time}`,
    selfView: "Your camera",
    remoteVideo: (name) => `Video of ${name}`,
    connectionLost: "Connection lost. Reconnecting…",
    connectionBack: "Connected again.",
    quality: { good: "Good connection", fair: "Fair connection", poor: "Poor connection" },
    qualityDetail: (rttMs, lossPct, kbps) => {
      const parts = [];
      if (rttMs !== null) parts.push(`delay ${rttMs} ms`);
      parts.push(`${lossPct}% lost`);
      if (kbps !== null) parts.push(`${kbps} kbit/s`);
      return parts.join(", ");
    },
    justNow: "just now",
    callControls: "Call controls",
    shareScreen: "Share screen",
    stopSharing: "Stop sharing",
    sharingNote: "You are sharing your screen. Everyone in the session can see it.",
    shareFailed: "Screen sharing did not start.",
    screenBadge: "Sharing screen",
    devices: "Devices",
    devicesHeading: "Camera, microphone and speaker",
    reconnecting: "Reconnecting…",
    connectingVideo: "Connecting video…",
    peerReconnecting: (name) => `${name}'s connection dropped. Reconnecting…`,
    peerBack: (name) => `${name} is back.`,
    chatClosed: "The chat opens when someone is in the session with you.",
    duration: {
      seconds: (s) => `${s} s`,
      minutes: (m, s) => `${m} min ${String(s).padStart(2, "0")} s`,
      hours: (h, m) => `${h} h ${String(m).padStart(2, "0")} min`,
    },
  },

  media: {
    check: "Check camera and microphone",
    checkAgain: "Try again",
    checking: "Asking for your camera and microphone…",
    ok: "Your camera and microphone are working.",
    micOnly: "Your microphone works, but no camera was found. You can still join.",
    camOnly: "Your camera works, but no microphone was found. You can still join.",
    denied: "Your browser is not allowed to use your camera and microphone.",
    missing: "No camera or microphone was found.",
    inUse: "Your camera or microphone is being used by another program.",
    insecure: "Camera access needs a secure (https) connection.",
    failed: "The camera or microphone could not be started.",
    help: {
      denied: [
        "Click the camera or padlock icon at the left of the address bar.",
        "Set Camera and Microphone to “Allow”.",
        "Press “Try again” below.",
      ],
      missing: [
        "Plug in a webcam or headset, or check that it is switched on.",
        "Press “Try again” below.",
      ],
      inUse: [
        "Close other programs that may use the camera, such as another video call.",
        "Press “Try again” below.",
      ],
      insecure: ["Open the link exactly as you received it: it should start with https://."],
      failed: ["Press “Try again” below. If it keeps failing, restart your browser."],
      micOnly: [],
      camOnly: [],
    },
    joinWithout: "You can still join without them: your therapist will see this and can help.",
    level: "Microphone level",
    levelHint: "Say something: the bar moves when your microphone hears you.",
    preview: "Preview of your camera",
    camera: "Camera",
    microphone: "Microphone",
    speaker: "Speaker",
    speakerDefault: "System default",
    speakerFixed: "Sound plays through your device's usual speaker.",
    testSound: "Play a test sound",
    unnamed: (kind, n) => `${kind} ${n}`,
    switchFailed: "That device could not be started. The previous one is still in use.",
    deviceState: {
      ok: "working",
      denied: "blocked",
      missing: "not found",
      skipped: "not checked",
    },
    deviceSummary: (camera, microphone) => `Camera ${camera}, microphone ${microphone}`,
  },

  client: {
    title: "Your session — Rapport",
    welcomeHeading: "Welcome",
    welcomeText:
      "You are about to join a private video session. A few short steps, then you will wait " +
      "in the waiting room until your therapist lets you in.",
    privacyNote:
      "Privacy: your video and sound go directly to your therapist, encrypted, and are " +
      "never recorded by Rapport. Other people in the waiting room cannot see you or " +
      "know you are there.",
    nameLabel: "Your name",
    nameHint: "This is how your therapist will see you in the waiting room.",
    nameRequired: "Please enter your name (1 to 64 characters).",
    devicesHint: "Optional, but it helps your session start smoothly.",
    consentRequired: "Please tick the box to agree before joining.",
    join: "Join waiting room",
    joining: "Joining…",
    steps: {
      label: "Steps to join",
      count: (n, total) => `Step ${n} of ${total}: `,
      back: "Back",
      next: "Next",
      names: { name: "Name", where: "Where", consent: "Consent", devices: "Devices" },
      titles: {
        name: "About you",
        where: "Where you are today",
        consent: "Consent",
        devices: "Camera and microphone",
      },
    },
    whereWhy:
      "Your therapist asks this at the start of every session. If the call drops, they can " +
      "call you back. In an emergency, they need to know where you are to get you help.",
    locationLabel: "Where are you for this session?",
    locationHint: "A town and an address, or a place: for example, at home, 12 Park Road, Leeds.",
    phoneLabel: "A phone number where your therapist can reach you",
    phoneHint: "Digits, spaces and + ( ) - . only.",
    whereOptional:
      "Only your therapist sees this, and only while you are in their waiting room or session. " +
      "If you would rather not say, you can leave it empty.",
    locationInvalid: "Please keep where you are to 200 characters or fewer.",
    phoneInvalid: "Please give a phone number of at least 3 digits (digits, spaces and + ( ) - . only, up to 32).",
    checkInAgain: "Check in again",
    waitingTitle: "Waiting room — Rapport",
    waitingHeading: "You are in the waiting room",
    waitingStatus: "Your therapist will let you in shortly. You can leave this page open.",
    position: (n) => (n === 1 ? "You are next in line." : `You are number ${n} in line.`),
    therapist: {
      absent: "Your therapist has not arrived yet.",
      ready: "Your therapist is here and will be with you shortly.",
      in_session: "Your therapist is with someone else and will be with you after.",
      reconnecting: "Your therapist's connection dropped; they should be back in a moment.",
      left: "Your therapist has left for now. They can let you in when they are back.",
      lost: "Your therapist's connection was lost. If they reconnect, they will see you here.",
    },
    messagesHeading: "Messages from your therapist",
    messagesEmpty: "No messages yet.",
    // Why a client is back in the waiting room from the session (the state message's reason).
    back: {
      sent_back: "Your therapist has moved you back to the waiting room.",
      therapist_left: "Your therapist has left the session, so you are back in the waiting room.",
      therapist_lost:
        "Your therapist's connection was lost, so you are back in the waiting room. " +
        "Please stay on this page.",
    },
    admittedTitle: "You're in — Rapport",
    inSessionTitle: "In session — Rapport",
    callHeading: "Your session",
    yourDevices: "Your camera and microphone",
    admitted: "You're in. Your session is starting.",
    leaveConfirm: "Leave the session? You can come back with the same link while it is valid.",
    // The consent the page asks for when the practice sets no text of its own.
    defaultConsent:
      "I agree to take part in this video session. I understand it is private and is not recorded.",
    languageLabel: "Language",
    closingTitle: "Session ended — Rapport",
    closingHeading: "Your session has ended",
    closingText: "Thank you. You can close this tab now.",
    leftHeading: "You have left",
    leftText: "You can close this tab now, or come back with your link while it is valid.",
    roomClosedTitle: "Room closed — Rapport",
    roomClosedHeading: "The room has been closed",
    roomClosedText:
      "Your therapist or the practice closed this room, so this link no longer opens it. " +
      "Please contact them if you still need your session.",
    rejoin: "Rejoin",
  },

  therapist: {
    title: "Console — Rapport",
    heading: "Your console",
    roomLabel: (room) => `Room ${room}`,
    pickHeading: "Choose a room",
    pickText: "Your link works for several rooms. Which one are you working in now?",
    switchRoom: "Switch room",
    waitingHeading: "Waiting room",
    waitingEmpty: "Nobody is waiting.",
    waitingCount: (n) => (n === 1 ? "1 person waiting" : `${n} people waiting`),
    titleWithCount: (n) => `(${n}) Console — Rapport`,
    waitingSince: (relative) => `Arrived ${relative}`,
    connected: "connected",
    dropped: "reconnecting",
    secondDevice: "Same link, another device: admit this one instead, or deny it",
    emergency: {
      location: "Where",
      phone: "Phone",
      notGiven: "not given",
    },
    admit: "Admit",
    admitName: (name) => `Admit ${name}`,
    addToSession: "Add to session",
    addName: (name) => `Add to session: ${name}`,
    // While a session runs, adding someone asks first and says who will see whom.
    addToSessionAsk: "Add to session…",
    addConfirm: (adding, inSession) =>
      `Add ${listOf(adding)} to your session with ${listOf(inSession)}? ` +
      `${listOf([...inSession, ...adding])} will see and hear each other.`,
    sessionFull: (max) => `The session is full: at most ${max} people, you included.`,
    deviceProblem: "Check their devices",
    deny: "Deny",
    denyName: (name) => `Deny ${name}`,
    denyConfirm: (name) =>
      `Turn ${name} away? Their link will stop working for this room.`,
    select: (name) => `Select ${name}`,
    admitSelected: (n) => `Admit selected (${n})`,
    messageOne: "Message",
    messageName: (name) => `Message ${name}`,
    messageAllLabel: "Message everyone waiting",
    messageToLabel: (name) => `Message to ${name}`,
    messagePlaceholder: "For example: I will be with you shortly",
    messageSent: "Message sent.",
    sessionHeading: "Session",
    sessionEmpty: "No one is in the session. Admit someone from the waiting room.",
    sendBack: "Send back",
    sendBackName: (name) => `Send back ${name} to the waiting room`,
    remove: "Remove",
    removeName: (name) => `Remove ${name}`,
    removeConfirm: (name) => `Remove ${name} from the session?`,
    endSession: "End session for all",
    endConfirm:
      "End the session for everyone in it? Their session links stop working, so they cannot " +
      "come back to it. People in the waiting room stay there.",
    linksHeading: "Session link",
    linkValidity: "Valid for",
    ttl: { 3600: "1 hour", 7200: "2 hours", 86400: "1 day", 604800: "7 days" },
    createLink: "Create session link",
    linkLabel: "New session link",
    copy: "Copy link",
    copied: "Link copied.",
    copyFailed: "Could not copy; select the link and copy it yourself.",
    linkExpires: (time) => `Valid until ${time}.`,
    linkFailed: (message) => `Could not create a link: ${message}`,
    arrival: (name) => `${name} has arrived in the waiting room.`,
    alertsEnable: "Turn on arrival alerts",
    notificationsEnable: "Turn on desktop notifications",
    alertsOn: "Arrival alerts: a sound, the tab title and desktop notifications.",
    alertsAskNotifications: "Arrival alerts: a sound and the tab title. Desktop notifications reach you in other windows too.",
    alertsSoundOnly: "Arrival alerts: a sound and the tab title. Desktop notifications are blocked in this browser.",
    alertsOff: "Arrival alerts: the tab title only, until you turn on sound.",
    notificationTitle: "Rapport: someone is waiting",
    notificationBody: (n) =>
      n === 1 ? "1 person is in your waiting room." : `${n} people are in your waiting room.`,
    clientLeft: (name) => `${name} left the session.`,
    inSession: (n) => (n === 1 ? "1 client in the session" : `${n} clients in the session`),
    clientJoined: (name) => `${name} joined the session.`,
  },

  // The therapist's running-late notice, as the console sets it and the waiting room shows it.
  late: {
    notice: (minutes, time) =>
      `Your therapist is running about ${minutes} ${minutes === 1 ? "minute" : "minutes"} late ` +
      `(expected ${time}).`,
    countdown: (left) => `About ${left} to go.`,
    anyMoment: "Your therapist should be with you any moment now.",
    legend: "Running late?",
    hint: "Waiting clients see how late you expect to be, with a countdown.",
    choice: (n) => `${n} min`,
    customLabel: "Other, in minutes",
    set: "Tell clients",
    clear: "Clear notice",
    shown: (minutes, time) =>
      `Waiting clients see: running about ${minutes} ${minutes === 1 ? "minute" : "minutes"} ` +
      `late (expected ${time}).`,
    passed: (time) => `Waiting clients see: expected at ${time}, any moment now.`,
    none: "No running-late notice.",
    invalid: "Enter a number of minutes from 1 to 120.",
  },

  // A waiting client's replies to the therapist's messages.
  replies: {
    label: "Reply to your therapist",
    hint: (max) => `Up to ${max} characters. Only your therapist sees your reply.`,
    send: "Send reply",
    sent: "Reply sent.",
    you: "You:",
    tooMany: "Please wait a moment before sending another reply.",
    off: "Replies are turned off here.",
    failed: "Your reply could not be sent. Please try again.",
    fromName: (name) => `${name} replied to your message.`,
    listLabel: (name) => `Replies from ${name}`,
    notificationTitle: "Rapport: a client replied",
    notificationBody: "A client in your waiting room replied to your message.",
  },

  // The waiting room's word on privacy, and the alerts for the therapist's messages.
  waitingRoom: {
    privateNote:
      "Nobody can see or hear you yet. Your camera and microphone reach your therapist " +
      "only once they let you in.",
    newMessageTitle: (n) => `(${n}) New ${n === 1 ? "message" : "messages"} — Rapport`,
    muteAlerts: "Mute message sounds",
  },

  authority: {
    expiring: (time) => `Your sign-in ends at ${time}. Open your sign-in link again in this tab to stay signed in.`,
    sessionEnding: (time) => `The time for this session ends at ${time}.`,
    renewed: "You are signed in again.",
  },

  admin: {
    title: "Monitor — Rapport",
    tagline: "Monitor",
    heading: "Active rooms",
    caption: "Every active room on every node, updated every few seconds",
    empty: "No active rooms.",
    updated: (time) => `Updated ${time}`,
    col: {
      room: "Room",
      therapist: "Therapist",
      waiting: "Waiting",
      longest: "Longest wait",
      session: "In session",
      nodes: "Nodes",
      actions: "Actions",
    },
    therapist: { present: "present", reconnecting: "reconnecting", absent: "absent" },
    longWait: "long wait",
    longest: "longest wait",
    waiterDropped: "reconnecting",
    waitingMore: (n) => `and ${n} more`,
    alertsHeading: "Needs attention",
    alertTag: "alert: no therapist",
    alertText: (room, wait, therapist) =>
      `Room ${room}: someone has waited ${wait} and the therapist is ${therapist}.`,
    alertNew: (room, limit) =>
      `Alert: in room ${room} someone has waited more than ${limit} with no therapist present.`,
    alertCleared: (room) => `Room ${room} is no longer in alert.`,
    role: { therapist: "Therapist", client: "Client", admin: "Admin", system: "System" },
    member: (role, id) => `${role} ${id}`,
    noOne: "—",
    timeline: {
      open: "Timeline",
      openName: (room) => `Timeline of room ${room}`,
      heading: (room) => `Timeline of room ${room}`,
      hint: "What was recorded for this room in the last 24 hours, oldest first. " +
        "Opening it is recorded in the audit trail.",
      close: "Close timeline",
      caption: (room, n) => (n === 1 ? `1 event in room ${room}` : `${n} events in room ${room}`),
      loading: "Loading the timeline…",
      failed: (message) => `Could not load the timeline: ${message}`,
      empty: "Nothing was recorded for this room in the last 24 hours.",
      more: "Show later events",
      waited: (action, wait) => `${action} (waited ${wait})`,
      col: {
        time: "Time",
        action: "What happened",
        participant: "Participant",
        actor: "By",
        outcome: "Outcome",
      },
      outcome: { success: "done", failure: "refused" },
    },
    // The audit trail's actions (docs/protocol.md, "Audit documents"), in words.
    action: {
      participant: {
        joined: "Joined",
        resumed: "Reconnected",
        admitted: "Admitted",
        denied: "Turned away",
        sent_back: "Sent back to the waiting room",
        removed: "Removed",
        left: "Left",
        dropped: "Connection dropped",
        grace_lapsed: "Place lapsed after a drop",
        session_ended: "Session ended",
      },
      session: { started: "Session started", ended: "Session ended for everyone" },
      room: { ended: "Room closed" },
      rapport: {
        join_refused: "Join refused",
        link_issued: "Session link created",
        link_withdrawn: "Session link withdrawn",
        token_revoked: "Token withdrawn",
        room_viewed: "Viewed by an admin",
        audit_exported: "Audit trail exported",
        consent_given: "Consent given",
      },
    },
    chart: {
      heading: "Waits in the last hour",
      summaryAdmitted: (n, median, longest) =>
        `${n === 1 ? "1 client was" : `${n} clients were`} admitted in the last hour; ` +
        `the median wait was ${median}, the longest ${longest}.`,
      noneAdmitted: "No one was admitted in the last hour.",
      summaryWaiting: (n, longest) =>
        `${n === 1 ? "1 client is" : `${n} clients are`} waiting now, the longest for ${longest}.`,
      noneWaiting: "Nobody is waiting now.",
      truncated: "Some rooms are left out: there were too many to read at once.",
      legendAdmitted: "Admitted: when, and how long they had waited",
      legendWaiting: "Waiting now: how long so far",
      legendAlert: (limit) => `Alert threshold (${limit})`,
      now: "now",
      minutes: (m) => `${m} min`,
      pointAdmitted: (room, time, wait) => `Room ${room}: admitted at ${time} after ${wait}`,
      pointWaiting: (room, wait) => `Room ${room}: waiting for ${wait}`,
      failed: "The chart could not be updated; it will try again.",
      dataSummary: "The chart as a table",
      dataCaption: "Waits in the last hour, newest first",
      noData: "No waits in the last hour.",
      col: { time: "Time", room: "Room", wait: "Wait", kind: "Status" },
      kind: { admitted: "admitted", waiting: "waiting now" },
    },
    endRoom: "End room",
    endRoomName: (room) => `End room ${room}`,
    endConfirm: (room) => `End room ${room}? Everyone in it will be disconnected.`,
    ended: (room, n) => `Room ${room} ended (${n} disconnected).`,
    endFailed: (room, message) => `Could not end room ${room}: ${message}`,
  },

  precall: {
    heading: "Test your connection",
    hint: "Optional: a short test of your internet connection, so your session runs smoothly. It takes about ten seconds and you can be let in at any time.",
    run: "Test my connection",
    again: "Test again",
    running: "Testing your connection… this takes about ten seconds.",
    busy: (seconds) => `The test is busy just now. Please try again in ${seconds} seconds, or simply carry on waiting.`,
    failed: "The test could not finish. That is all right: you can still join your session.",
    client: {
      good: "Your connection looks good for video.",
      fair: "Your connection works. Video may sometimes be less smooth.",
      poor: "Your connection looks weak. Your session can still go ahead; the tips below may help.",
    },
    therapist: {
      good: "Connection test: good",
      fair: "Connection test: fair",
      poor: "Connection test: poor",
    },
    // The same codes, on the therapist's card: about the client's connection, not to them.
    therapistAdvice: {
      good: "Nothing stood out.",
      unreachable: "The test could not reach the server from the client's network.",
      no_media: "No sound or picture came through during the client's test.",
      relay: "The client connects only through the relay server: video may be less smooth.",
      relay_tcp: "The client's network lets video through only by a slower route: video may be less smooth.",
      latency: "Sound and picture may reach the client with a short delay.",
      loss: "Some of the client's picture and sound got lost on the way.",
      jitter: "The client's connection is a little uneven.",
      bandwidth: "The client's connection is slow for video.",
    },
    advice: {
      good: "Nothing to change.",
      unreachable: "The test could not reach our server. If you are on a work or public network, another network may work better.",
      no_media: "No sound or picture came through during the test. Another network may work better.",
      relay: "Your connection works, but only through our relay server: video may be less smooth.",
      relay_tcp: "Your network only lets video through a slower route. Video may be less smooth; another network may help.",
      latency: "Sound and picture may arrive with a short delay. Moving closer to your Wi-Fi router may help.",
      loss: "Some of the picture and sound got lost on the way. Moving closer to your Wi-Fi router or closing other apps may help.",
      jitter: "The connection is a little uneven. Pausing downloads or video streaming on your network may help.",
      bandwidth: "Your connection is slow for video. Pausing downloads or other video on your network may help.",
    },
    path: {
      host: (transport) => `Direct (${transport})`,
      srflx: (transport) => `Direct through the router (${transport})`,
      prflx: (transport) => `Direct (${transport})`,
      relay: (transport) => `Through the relay server (${transport})`,
    },
    figures: {
      path: "Path",
      rtt: "Round trip",
      loss: "Loss (up / down)",
      jitter: "Jitter (up / down)",
      bitrate: "Bitrate (up / down)",
      upDown: (up, down) => `${up} / ${down}`,
      ms: (n) => `${n} ms`,
      pct: (n) => `${n} %`,
      kbps: (n) => `${n} kb/s`,
      none: "none",
    },
  },

  callQuality: {
    // To the therapist, from the client's own summaries (names of the clients struggling).
    peerPoor: (names) => `${names.join(" and ")}${names.length === 1 ? "'s connection is" : "'s connections are"} ` +
      "struggling: their picture or sound may freeze or break up.",
    monitor: {
      poorNow: "poor quality now",
      level: { good: "good", fair: "fair", poor: "poor", unknown: "no recent report" },
      candidate: {
        host: "direct", srflx: "direct (through NAT)", prflx: "direct (through NAT)", relay: "relayed",
        unknown: "path unknown",
      },
      now: (who, level) => `${who}: ${level} now.`,
      figures: (rttMs, lossPct, jitterMs, kbps, path) => {
        const parts = [];
        if (rttMs !== null) parts.push(`round trip ${rttMs} ms`);
        parts.push(`${lossPct}% lost`);
        if (jitterMs !== null) parts.push(`jitter ${jitterMs} ms`);
        if (kbps !== null) parts.push(`${kbps} kbit/s received`);
        parts.push(path);
        return `Latest: ${parts.join(", ")}.`;
      },
      recent: (n, poor) => `${n === 1 ? "1 report" : `${n} reports`} shown, ${poor} of them poor.`,
      chartTitle: (pid) => `Connection quality of ${pid}, recent reports`,
    },
  },

  brand: {
    logoAlt: "The practice's logo",
    supportHeading: "Need help?",
    sessionWith: (name) => `Your session with ${name}`,
    noteFrom: (name) => (name ? `A note from ${name}` : "A note from your therapist"),
    console: {
      heading: "How clients see your room",
      intro: "Shown to your clients on their welcome and waiting pages, as you type it here.",
      nameLabel: "Your name as clients see it",
      nameHint: "For example: Dr. Ada Lee. Leave it empty to show no name.",
      noteLabel: "Welcome note",
      noteHint: "Plain text, up to 500 characters. Line breaks are kept.",
      count: (n, max) => `${n} of ${max} characters`,
      save: "Save",
      saved: "Saved. Clients see it when they next open or reload their link.",
      failed: (why) => `Not saved: ${why}`,
      loadFailed: (why) => `Could not load how clients see your room: ${why}`,
    },
  },

  // Background blur (blur.js): the switch in the device check and the call's controls.
  blur: {
    label: "Blur my background",
    hint: "Only you stay sharp; the room behind you is blurred before your video leaves this device.",
    button: "Blur background",
    buttonOff: "Stop blurring",
    starting: "Starting background blur…",
    on: "Your background is blurred.",
    unavailable: "Background blur is not available on this service.",
    failed: "Background blur could not start on this device. Your background is visible.",
    tooSlow: "Background blur was turned off because this device could not keep up. Your background is visible again.",
  },

  errors: {
    noLink: {
      heading: "This page needs a link",
      text: "Open the full link you were sent, including everything after the # sign.",
    },
    invalid: {
      heading: "This link does not work",
      text: "The link may be incomplete or mistyped. Please ask for a new one.",
    },
    expired: {
      heading: "This link has expired",
      text: "Session links only work around the appointment time. Please ask for a new one.",
    },
    notYet: {
      heading: "It is a little early",
      text: (time) => `Your link opens at ${time}. This page will be ready for you then.`,
    },
    revoked: {
      heading: "This link was withdrawn",
      text: "Please contact your therapist or practice for a new link.",
    },
    wrongKind: {
      heading: "This link is for another page",
      text: "Check that you opened the link exactly as you received it.",
    },
    denied: {
      heading: "You were not admitted",
      text: "Your therapist could not admit you to this session. Please contact them or your practice.",
    },
    sessionEnded: {
      heading: "This session has ended",
      text: "This link no longer opens it. If you need another session, please contact your therapist or practice.",
    },
    roomClosed: {
      heading: "This room has been closed",
      text: "This link no longer opens it. Please contact your therapist or practice if you still need your session.",
    },
    removed: {
      heading: "You were removed from the session",
      text: "If you think this is a mistake, please contact your therapist or practice.",
    },
    signIn: {
      heading: "Please sign in again",
      text: "Your sign-in has ended. Open your sign-in link again to continue.",
    },
    timeUp: {
      heading: "The session time is over",
      text: "The time booked for this session has ended. Please contact your therapist or practice to book another.",
    },
    idle: {
      heading: "Signed out after a quiet spell",
      text: "Nobody used this page for a while, so it was locked to keep the room private. Open your sign-in link again to continue.",
    },
    expiredPlace: {
      heading: "Your place has lapsed",
      text: "You were away for a while. Open your link again to return to the waiting room.",
    },
    linkInUse: {
      heading: "This link is already in use",
      text: "This link is open on another device, and it can be used on one device only.",
    },
    replaced: {
      heading: "Open in another tab",
      text: "This session was opened in another tab or device. You can continue here instead.",
    },
    roomEnded: {
      heading: "This room was closed",
      text: "The room was closed, and everyone in it was disconnected. You can open it again.",
    },
    gaveUp: {
      heading: "We could not reconnect",
      text: "Please check your internet connection, then try again.",
    },
    name: {
      heading: "Please check your name",
      text: "Your name should be 1 to 64 characters.",
    },
    consent: {
      heading: "Please read the consent again",
      text: "Your practice needs you to accept its consent text before you join, and it may " +
        "have changed since you opened this page. Check in again to read it.",
    },
    emergency: {
      heading: "Please check where you are and your phone number",
      text: "Where you are can be up to 200 characters, and the phone number up to 32 digits, " +
        "spaces and + ( ) - . only. Check in again to correct them.",
    },
    origin: {
      heading: "This page cannot connect",
      text: "It was opened from an address the service does not accept.",
    },
    generic: {
      heading: "Something went wrong",
      text: "Please try again in a moment.",
    },
    // A short link (/s/<code>) that could not be looked up just now (an unknown one is "invalid").
    shortBusy: {
      heading: "Please wait a moment",
      text: "This link was tried many times from your network. Please try again in a minute.",
    },
    shortOffline: {
      heading: "This link could not be opened just now",
      text: "Please check your connection and try again.",
    },
    roomLinkLocked: {
      heading: "This room is not open right now",
      text: "Your therapist has not opened their room for visitors at the moment. Please try again later, or use the link your therapist or practice sent you.",
    },
    roomLinkFull: {
      heading: "The waiting room is full",
      text: "Too many people are waiting just now. Please try again in a few minutes.",
    },
    roomLinkUnknown: {
      heading: "This room address does not work",
      text: "Check that it is typed exactly as you were given it, or ask your therapist or practice for their room address.",
    },
    roomLinkBusy: {
      heading: "Too many tries",
      text: "There have been many tries from your network in a short time. Please wait a minute and try again.",
    },
  },

  // The console's session links: scheduled (start time and length), the day's list, withdrawal,
  // and the invitation text to send. Labels stay in the therapist's browser only.
  schedule: {
    startLabel: "Appointment starts (optional)",
    startHint: "Leave empty for a link that opens now. A scheduled link opens 10 minutes early.",
    lengthLabel: "Length",
    lengths: {
      1800: "30 minutes", 3000: "50 minutes", 3600: "1 hour", 5400: "90 minutes", 7200: "2 hours",
      86400: "1 day", 604800: "7 days",
    },
    label: "Label for you (optional)",
    labelHint: "Kept in this browser only, never sent to the server. Avoid full names.",
    startInPast: "Choose a start time from now on.",
    window: (start, end) => `${start} – ${end}`,
    invitation: (when, url) =>
      `Your video session is on ${when}. When it is time, open this link: ${url}\n` +
      "It opens 10 minutes early, and there is nothing to install.",
    invitationNow: (url) =>
      `Please join your video session with this link: ${url}\nThere is nothing to install.`,
    copyInvitation: "Copy invitation",
    copyInvitationFor: (label) => `Copy invitation: ${label}`,
    invitationCopied: "Invitation copied.",
    todayHeading: "Today's links",
    todayEmpty: "No links made today.",
    unlabeled: "Session link",
    withdraw: "Withdraw",
    withdrawFor: (label) => `Withdraw: ${label}`,
    withdrawConfirm: (label) =>
      `Withdraw ${label}? It stops working at once, and anyone waiting with it is removed.`,
    withdrawn: "Withdrawn",
    withdrawnDone: "Link withdrawn.",
    withdrawFailed: (message) => `Could not withdraw the link: ${message}`,
    listFailed: (message) => `Could not load today's links: ${message}`,
    upcoming: "Upcoming",
    open: "Open",
    ended: "Ended",
  },

  // The therapist's session timer: elapsed time and the appointment's end.
  timer: {
    label: "Session time",
    elapsed: (time) => `Elapsed ${time}`,
    endsAt: (time) => `ends ${time}`,
    fiveLeft: "5 minutes left in this appointment.",
    over: (time) => `The appointment's time ended at ${time}. Finish when you are ready.`,
  },

  // A therapist's personal room link (/r/<slug>): the console's panel and the waiting card.
  roomLink: {
    heading: "Your room link",
    intro: "A permanent address for this room that you can put in your email signature. Anyone who opens it checks in and waits for you to admit them.",
    slugLabel: "Room address",
    slugHint: "3 to 40 characters: lowercase letters a-z, digits and single hyphens, for example dr-rivera.",
    publish: "Publish",
    change: "Change address",
    remove: "Remove room link",
    removeConfirm: "Remove this room link? The address will stop working at once. People already waiting stay.",
    addressLabel: "Address to share",
    copy: "Copy address",
    copied: "Address copied.",
    copyFailed: "Could not copy: select the address and copy it yourself.",
    lockLabel: "Locked: new visitors see \u201cnot open right now\u201d",
    lockedState: "Locked. People already waiting stay; new visitors cannot check in.",
    openState: "Open. New visitors can check in and wait.",
    published: (url) => `Published: ${url}`,
    removed: "Room link removed.",
    locked: "Room link locked.",
    unlocked: "Room link open again.",
    none: "No room link yet.",
    cap: (n) => `At most ${n} people can wait through the room link at once.`,
    cameThrough: "Came through your room link",
    failed: "That did not work. Please try again.",
    tryAgain: "Try again",
  },

  // What the server's error codes (signaling/errors.py) mean, in the page's words: a page shows
  // these rather than the server's English `message`.
  serverErrors: {
    slug_invalid: "A room address is 3 to 40 characters: lowercase letters a-z, digits and single hyphens, and not a reserved word.",
    slug_taken: "That room address is taken; please choose another.",
    room_link_not_found: "This room address does not work.",
    room_link_locked: "This room is not open right now; please try again later.",
    room_link_full: "The waiting room is full just now; please try again in a few minutes.",
    invalid_profile: "Please give a name of up to 64 characters and a welcome note of up to 500 characters, as plain text.",
    invalid_json: "The message could not be read.",
    unknown_type: "The page sent something the service does not know.",
    unknown_field: "The page sent something the service does not know.",
    invalid_message: "Something in the request is not right.",
    frame_too_large: "The message is too large.",
    invalid_sdp: "The video connection could not be set up.",
    sdp_too_large: "The video connection could not be set up.",
    invalid_name: "Please give a display name of 1 to 64 characters.",
    invalid_request: "The request could not be read.",
    headers_too_large: "The request could not be read.",
    invalid_emergency:
      "Please give where you are in up to 200 characters, and a phone number of up to 32 " +
      "digits, spaces and + ( ) - . only.",
    auth_required: "Please sign in first.",
    auth_timeout: "Signing in took too long.",
    token_invalid: "The link is not valid.",
    token_expired: "The link has expired.",
    token_not_yet_valid: "The link is not valid yet.",
    token_revoked: "The link has been withdrawn.",
    wrong_token_kind: "This link is for another page.",
    wrong_room: "This link is not for this room.",
    origin_not_allowed: "This page's address is not allowed.",
    session_expired: "Your sign-in has expired; please open your sign-in link again.",
    reauth_refused: "The new sign-in is for another person or room.",
    consent_required: "Please read and accept the current consent text before joining.",
    forbidden: "You are not allowed to do that.",
    not_admitted: "That person is not in the session.",
    unknown_participant: "That person is not in this room.",
    invalid_transition: "That cannot be done just now.",
    room_full: "The session is full.",
    waiting_room_full: "The waiting room is full just now; please try again in a few minutes.",
    not_found: "Not found.",
    replaced: "This session was opened in another tab or device.",
    denied: "The therapist could not admit you to this session.",
    removed: "You have been removed from the session.",
    session_ended: "The session has ended.",
    room_ended: "The room has been closed.",
    expired: "You were away too long and your place has lapsed.",
    left: "You have left the session.",
    too_slow: "The connection fell too far behind.",
    too_many_sockets: "This link is open in too many places at once.",
    time_up: "The time for this session is over.",
    link_in_use: "This link is already in use on another device, and it can be used on one only.",
    going_away: "The service is restarting; reconnecting.",
    rate_limited: "Too many requests; please slow down.",
    too_many_attempts: "Too many attempts from your network; please wait a moment.",
    too_many_connections: "Too many connections from your network; please wait a moment.",
    too_many_candidates: "The video connection could not be set up; please try again.",
    not_configured: "This service does not offer that.",
    precall_busy: "The connection test is busy just now; please try again in a few seconds.",
    precall_time_up: "The connection test ran out of time.",
    precall_not_running: "No connection test is running.",
    replies_off: "Replies from the waiting room are turned off.",
    too_many_replies: "Too many replies in a short time; please wait a moment.",
    unavailable: "The service is briefly unavailable; please try again shortly.",
    internal: "Something went wrong on our side.",
    // A code this page does not know yet (a newer server), or no code at all.
    unknown: "Something went wrong. Please try again.",
  },
};

/** Each language's catalogue by its code (language.js names them); English is the reference. */
export const CATALOGUES = { en: STRINGS, es: ES };

function lookup(catalogue, path) {
  let value = catalogue;
  for (const part of path.split(".")) {
    value = value?.[part];
  }
  return value;
}

/** The string (or list of strings) at a dotted path ("client.join") in the page's language,
 *  called with args when it is a function. A key the language lacks falls back to English. */
export function t(path, ...args) {
  let value = lookup(CATALOGUES[language()] || STRINGS, path);
  if (value === undefined && language() !== DEFAULT_LANGUAGE) value = lookup(STRINGS, path);
  if (typeof value === "function") return value(...args);
  if (typeof value === "string" || Array.isArray(value)) return value;
  console.warn("missing string", path);
  return path;
}

/** True when the catalogue has words (a string) at `path`: for keys made from the server's data. */
export function hasString(path) {
  return typeof lookup(STRINGS, path) === "string";
}

/** A server error's code ("room_full") in the page's words; never the server's own English. */
export function errorText(code) {
  const known = typeof code === "string" && Object.hasOwn(STRINGS.serverErrors, code);
  return t(`serverErrors.${known ? code : "unknown"}`);
}

/** A failed request in the page's words: the server's error `code` when it gave one (see
 *  `requestError`), else (the network, or no answer in JSON) the words for an unknown failure. */
export function failureText(err) {
  return errorText(err?.code);
}

/** The Error to throw for a refused request: its code from the body `{"error": {"code"}}`. */
export function requestError(response, body) {
  return Object.assign(new Error(`HTTP ${response.status}`), { code: body?.error?.code });
}
