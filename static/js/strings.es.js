// Spanish: every key of the English catalogue (strings.js), in the same shape. Usted throughout,
// in wording that reads well in Spain and in Latin America.
//
// Adding a language: copy this file to strings.XX.js (XX its ISO 639-1 code) and translate each
// value; keep every key, keep lists as lists, and keep each function a function of the same
// parameters (use Intl.PluralRules("XX") where a count changes the words, and Intl for numbers
// and lists). Then name it in language.js (LANGUAGE_NAMES, its name in itself) and import it in
// strings.js (CATALOGUES). tests/unit/test_catalogues.py fails on a missing, extra or
// differently shaped key; tests/browser/test_spanish.py shows how to walk a visit in it.

const plural = new Intl.PluralRules("es");
/** `one` when Spanish uses the singular for n, else `other`. */
const count = (n, one, other) => (plural.select(n) === "one" ? one : other);
const number = new Intl.NumberFormat("es");
const num = (n) => number.format(n);
/** "Ana", "Ana y Luis", "Ana, Luis y Eva". */
const listOf = (names) => new Intl.ListFormat("es", { style: "long", type: "conjunction" }).format(names);

export const STRINGS = {
  app: {
    name: "Rapport",
    tagline: "Sesiones de vídeo tranquilas y privadas",
    skip: "Ir al contenido",
  },

  landing: {
    title: "Rapport",
    heading: "Sesiones de vídeo privadas con sala de espera",
    intro:
      "Rapport le conecta por vídeo con su terapeuta, directamente desde su navegador. " +
      "No hay nada que instalar ni cuentas que crear.",
    linksHeading: "Tres tipos de enlace",
    clientTitle: "Para clientes: su enlace de sesión",
    clientText:
      "Su terapeuta le envía un enlace personal. Ábralo unos minutos antes de su cita: " +
      "comprobará su cámara y su micrófono y luego esperará en una sala de espera tranquila " +
      "hasta que su terapeuta le haga pasar.",
    therapistTitle: "Para terapeutas: su consola",
    therapistText:
      "Su consulta le da un enlace a la consola. Desde allí ve quién está esperando, le " +
      "escribe, hace pasar a las personas de una en una o juntas y crea enlaces de sesión.",
    adminTitle: "Para administradores: el monitor",
    adminText:
      "El monitor muestra todas las salas activas: si el terapeuta está presente, cuántas " +
      "personas esperan y desde hace cuánto, y permite cerrar una sala.",
    privacyHeading: "Su privacidad",
    privacyText:
      "El vídeo y el sonido viajan directamente entre las personas de la sesión siempre que " +
      "es posible, cifrados. Rapport no graba las sesiones. Los enlaces llevan su clave " +
      "después del signo #, que los navegadores nunca envían a ningún servidor.",
  },

  common: {
    loading: "Cargando…",
    leave: "Salir",
    cancel: "Cancelar",
    confirm: "Confirmar",
    send: "Enviar",
    retry: "Intentar de nuevo",
    useHere: "Usar esta pestaña",
    mute: "Silenciar el micrófono",
    unmute: "Activar el micrófono",
    cameraOff: "Apagar la cámara",
    cameraOn: "Encender la cámara",
    you: "Usted",
    yourTherapist: "Su terapeuta",
    muted: "Silenciado",
    cameraIsOff: "Cámara apagada",
    chat: "Chat",
    chatLog: "Mensajes del chat",
    chatLabel: "Escriba un mensaje",
    chatFrom: (name, time) => `${name}, ${time}`,
    selfView: "Su cámara",
    remoteVideo: (name) => `Vídeo de ${name}`,
    connectionLost: "Se perdió la conexión. Reconectando…",
    connectionBack: "Conectado de nuevo.",
    quality: { good: "Conexión buena", fair: "Conexión regular", poor: "Conexión débil" },
    qualityDetail: (rttMs, lossPct, kbps) => {
      const parts = [];
      if (rttMs !== null) parts.push(`retardo ${num(rttMs)} ms`);
      parts.push(`${num(lossPct)} % perdido`);
      if (kbps !== null) parts.push(`${num(kbps)} kbit/s`);
      return parts.join(", ");
    },
    justNow: "ahora mismo",
    callControls: "Controles de la llamada",
    shareScreen: "Compartir pantalla",
    stopSharing: "Dejar de compartir",
    sharingNote: "Está compartiendo su pantalla. Todas las personas de la sesión pueden verla.",
    shareFailed: "No se pudo empezar a compartir la pantalla.",
    screenBadge: "Compartiendo pantalla",
    devices: "Dispositivos",
    devicesHeading: "Cámara, micrófono y altavoz",
    reconnecting: "Reconectando…",
    connectingVideo: "Conectando el vídeo…",
    peerReconnecting: (name) => `Se cortó la conexión de ${name}. Reconectando…`,
    peerBack: (name) => `${name} ha vuelto.`,
    chatClosed: "El chat se abre cuando alguien está en la sesión con usted.",
    duration: {
      seconds: (s) => `${s} s`,
      minutes: (m, s) => `${m} min ${String(s).padStart(2, "0")} s`,
      hours: (h, m) => `${h} h ${String(m).padStart(2, "0")} min`,
    },
  },

  media: {
    check: "Comprobar cámara y micrófono",
    checkAgain: "Intentar de nuevo",
    checking: "Pidiendo acceso a su cámara y su micrófono…",
    ok: "Su cámara y su micrófono funcionan.",
    micOnly: "Su micrófono funciona, pero no se encontró ninguna cámara. Aun así puede entrar.",
    camOnly: "Su cámara funciona, pero no se encontró ningún micrófono. Aun así puede entrar.",
    denied: "Su navegador no tiene permiso para usar la cámara y el micrófono.",
    missing: "No se encontró ninguna cámara ni ningún micrófono.",
    inUse: "Otro programa está usando su cámara o su micrófono.",
    insecure: "El acceso a la cámara necesita una conexión segura (https).",
    failed: "No se pudo poner en marcha la cámara o el micrófono.",
    help: {
      denied: [
        "Haga clic en el icono de la cámara o del candado, a la izquierda de la barra de direcciones.",
        "Ponga Cámara y Micrófono en «Permitir».",
        "Pulse «Intentar de nuevo» abajo.",
      ],
      missing: [
        "Conecte una cámara web o unos auriculares con micrófono, o compruebe que estén encendidos.",
        "Pulse «Intentar de nuevo» abajo.",
      ],
      inUse: [
        "Cierre otros programas que puedan usar la cámara, como otra videollamada.",
        "Pulse «Intentar de nuevo» abajo.",
      ],
      insecure: ["Abra el enlace tal como lo recibió: debe empezar por https://."],
      failed: ["Pulse «Intentar de nuevo» abajo. Si sigue fallando, reinicie su navegador."],
      micOnly: [],
      camOnly: [],
    },
    joinWithout: "Aun así puede entrar sin ellos: su terapeuta lo verá y podrá ayudarle.",
    level: "Nivel del micrófono",
    levelHint: "Diga algo: la barra se mueve cuando su micrófono le oye.",
    preview: "Vista previa de su cámara",
    camera: "Cámara",
    microphone: "Micrófono",
    speaker: "Altavoz",
    speakerDefault: "Predeterminado del sistema",
    speakerFixed: "El sonido sale por el altavoz habitual de su dispositivo.",
    testSound: "Reproducir un sonido de prueba",
    unnamed: (kind, n) => `${kind} ${n}`,
    switchFailed: "No se pudo poner en marcha ese dispositivo. Se sigue usando el anterior.",
    deviceState: {
      ok: "funciona",
      denied: "bloqueado",
      missing: "no encontrado",
      skipped: "sin comprobar",
    },
    deviceSummary: (camera, microphone) => `Cámara: ${camera}; micrófono: ${microphone}`,
  },

  client: {
    title: "Su sesión — Rapport",
    welcomeHeading: "Le damos la bienvenida",
    welcomeText:
      "Está a punto de entrar en una sesión de vídeo privada. Tras unos pasos breves, esperará " +
      "en la sala de espera hasta que su terapeuta le haga pasar.",
    privacyNote:
      "Privacidad: su vídeo y su sonido van directamente a su terapeuta, cifrados, y Rapport " +
      "nunca los graba. Las demás personas de la sala de espera no pueden verle ni saber que " +
      "usted está allí.",
    nameLabel: "Su nombre",
    nameHint: "Así le verá su terapeuta en la sala de espera.",
    nameRequired: "Escriba su nombre (de 1 a 64 caracteres).",
    devicesHint: "Es opcional, pero ayuda a que su sesión empiece sin problemas.",
    consentRequired: "Marque la casilla para dar su conformidad antes de entrar.",
    join: "Entrar en la sala de espera",
    joining: "Entrando…",
    steps: {
      label: "Pasos para entrar",
      count: (n, total) => `Paso ${n} de ${total}: `,
      back: "Atrás",
      next: "Siguiente",
      names: { name: "Nombre", where: "Ubicación", consent: "Consentimiento", devices: "Dispositivos" },
      titles: {
        name: "Sobre usted",
        where: "Dónde está hoy",
        consent: "Consentimiento",
        devices: "Cámara y micrófono",
      },
    },
    whereWhy:
      "Su terapeuta lo pregunta al comienzo de cada sesión. Si la llamada se corta, puede " +
      "volver a llamarle. En una emergencia, necesita saber dónde está usted para conseguirle ayuda.",
    locationLabel: "¿Dónde se encuentra durante esta sesión?",
    locationHint:
      "Una localidad y una dirección, o un lugar: por ejemplo, en casa, Calle Mayor 12, Valencia.",
    phoneLabel: "Un número de teléfono en el que su terapeuta pueda localizarle",
    phoneHint: "Solo dígitos, espacios y + ( ) - .",
    whereOptional:
      "Solo su terapeuta lo ve, y solo mientras usted está en su sala de espera o en su sesión. " +
      "Si prefiere no decirlo, puede dejarlo en blanco.",
    locationInvalid: "Indique dónde está en 200 caracteres como máximo.",
    phoneInvalid:
      "Indique un número de teléfono de al menos 3 dígitos (solo dígitos, espacios y + ( ) - ., hasta 32).",
    checkInAgain: "Registrarse de nuevo",
    waitingTitle: "Sala de espera — Rapport",
    waitingHeading: "Está en la sala de espera",
    waitingStatus: "Su terapeuta le hará pasar en breve. Puede dejar esta página abierta.",
    position: (n) => (n === 1 ? "Usted es la siguiente persona en la fila." : `Ocupa el puesto ${n} de la fila.`),
    therapist: {
      absent: "Su terapeuta aún no ha llegado.",
      ready: "Su terapeuta está aquí y le atenderá en breve.",
      in_session: "Su terapeuta está con otra persona y le atenderá después.",
      reconnecting: "Se cortó la conexión de su terapeuta; debería volver en un momento.",
      left: "Su terapeuta se ha ausentado por ahora. Podrá hacerle pasar cuando vuelva.",
      lost: "Se perdió la conexión de su terapeuta. Si vuelve a conectarse, le verá aquí.",
    },
    messagesHeading: "Mensajes de su terapeuta",
    messagesEmpty: "Todavía no hay mensajes.",
    back: {
      sent_back: "Su terapeuta le ha devuelto a la sala de espera.",
      therapist_left: "Su terapeuta ha salido de la sesión, así que ha vuelto a la sala de espera.",
      therapist_lost:
        "Se perdió la conexión de su terapeuta, así que ha vuelto a la sala de espera. " +
        "Por favor, permanezca en esta página.",
    },
    admittedTitle: "Ya puede pasar — Rapport",
    inSessionTitle: "En sesión — Rapport",
    callHeading: "Su sesión",
    yourDevices: "Su cámara y su micrófono",
    admitted: "Ya está dentro. Su sesión está empezando.",
    leaveConfirm: "¿Salir de la sesión? Puede volver con el mismo enlace mientras siga siendo válido.",
    defaultConsent:
      "Acepto participar en esta sesión de vídeo. Entiendo que es privada y que no se graba.",
    languageLabel: "Idioma",
    closingTitle: "Sesión terminada — Rapport",
    closingHeading: "Su sesión ha terminado",
    closingText: "Gracias. Ya puede cerrar esta pestaña.",
    leftHeading: "Ha salido de la sesión",
    leftText: "Ya puede cerrar esta pestaña, o volver con su enlace mientras siga siendo válido.",
    roomClosedTitle: "Sala cerrada — Rapport",
    roomClosedHeading: "La sala se ha cerrado",
    roomClosedText:
      "Su terapeuta o la consulta cerró esta sala, así que este enlace ya no la abre. " +
      "Póngase en contacto con ellos si todavía necesita su sesión.",
    rejoin: "Volver a entrar",
  },

  therapist: {
    title: "Consola — Rapport",
    heading: "Su consola",
    roomLabel: (room) => `Sala ${room}`,
    pickHeading: "Elija una sala",
    pickText: "Su enlace sirve para varias salas. ¿En cuál está trabajando ahora?",
    switchRoom: "Cambiar de sala",
    waitingHeading: "Sala de espera",
    waitingEmpty: "No hay nadie esperando.",
    waitingCount: (n) => count(n, `${n} persona esperando`, `${n} personas esperando`),
    titleWithCount: (n) => `(${n}) Consola — Rapport`,
    waitingSince: (relative) => `Llegó ${relative}`,
    connected: "conectado",
    dropped: "reconectando",
    secondDevice: "El mismo enlace, otro dispositivo: admita este en su lugar o rechácelo",
    emergency: {
      location: "Ubicación",
      phone: "Teléfono",
      notGiven: "no indicado",
    },
    admit: "Admitir",
    admitName: (name) => `Admitir a ${name}`,
    addToSession: "Añadir a la sesión",
    addName: (name) => `Añadir a la sesión: ${name}`,
    addToSessionAsk: "Añadir a la sesión…",
    addConfirm: (adding, inSession) =>
      `¿Añadir a ${listOf(adding)} a su sesión con ${listOf(inSession)}? ` +
      `${listOf([...inSession, ...adding])} se verán y se oirán.`,
    sessionFull: (max) => `La sesión está completa: ${max} personas como máximo, contándole a usted.`,
    deviceProblem: "Revise sus dispositivos",
    deny: "Rechazar",
    denyName: (name) => `Rechazar a ${name}`,
    denyConfirm: (name) =>
      `¿Rechazar a ${name}? Su enlace dejará de funcionar para esta sala.`,
    select: (name) => `Seleccionar a ${name}`,
    admitSelected: (n) => `Admitir seleccionados (${n})`,
    messageOne: "Mensaje",
    messageName: (name) => `Enviar un mensaje a ${name}`,
    messageAllLabel: "Mensaje para todas las personas en espera",
    messageToLabel: (name) => `Mensaje para ${name}`,
    messagePlaceholder: "Por ejemplo: enseguida estoy con usted",
    messageSent: "Mensaje enviado.",
    sessionHeading: "Sesión",
    sessionEmpty: "No hay nadie en la sesión. Admita a alguien de la sala de espera.",
    sendBack: "Devolver",
    sendBackName: (name) => `Devolver a ${name} a la sala de espera`,
    remove: "Quitar",
    removeName: (name) => `Quitar a ${name} de la sesión`,
    removeConfirm: (name) => `¿Quitar a ${name} de la sesión?`,
    endSession: "Terminar la sesión para todos",
    endConfirm:
      "¿Terminar la sesión para todas las personas que están en ella? Sus enlaces de sesión " +
      "dejarán de funcionar, así que no podrán volver a ella. Quienes estén en la sala de " +
      "espera seguirán allí.",
    linksHeading: "Enlace de sesión",
    linkValidity: "Válido durante",
    ttl: { 3600: "1 hora", 7200: "2 horas", 86400: "1 día", 604800: "7 días" },
    createLink: "Crear enlace de sesión",
    linkLabel: "Nuevo enlace de sesión",
    copy: "Copiar enlace",
    copied: "Enlace copiado.",
    copyFailed: "No se pudo copiar; seleccione el enlace y cópielo usted.",
    linkExpires: (time) => `Válido hasta ${time}.`,
    linkFailed: (message) => `No se pudo crear un enlace: ${message}`,
    arrival: (name) => `${name} ha llegado a la sala de espera.`,
    alertsEnable: "Activar los avisos de llegada",
    notificationsEnable: "Activar las notificaciones de escritorio",
    alertsOn: "Avisos de llegada: un sonido, el título de la pestaña y notificaciones de escritorio.",
    alertsAskNotifications:
      "Avisos de llegada: un sonido y el título de la pestaña. Las notificaciones de escritorio " +
      "también le llegan en otras ventanas.",
    alertsSoundOnly:
      "Avisos de llegada: un sonido y el título de la pestaña. Las notificaciones de escritorio " +
      "están bloqueadas en este navegador.",
    alertsOff: "Avisos de llegada: solo el título de la pestaña, hasta que active el sonido.",
    notificationTitle: "Rapport: alguien está esperando",
    notificationBody: (n) =>
      count(n, `${n} persona está en su sala de espera.`, `${n} personas están en su sala de espera.`),
    clientLeft: (name) => `${name} salió de la sesión.`,
    inSession: (n) => count(n, `${n} cliente en la sesión`, `${n} clientes en la sesión`),
    clientJoined: (name) => `${name} se unió a la sesión.`,
  },

  late: {
    notice: (minutes, time) =>
      `Su terapeuta se retrasará unos ${minutes} ${count(minutes, "minuto", "minutos")} ` +
      `(hora prevista: ${time}).`,
    countdown: (left) => `Quedan unos ${left}.`,
    anyMoment: "Su terapeuta debería atenderle en cualquier momento.",
    legend: "¿Va con retraso?",
    hint: "Los clientes en espera ven cuánto retraso prevé, con una cuenta atrás.",
    choice: (n) => `${n} min`,
    customLabel: "Otro, en minutos",
    set: "Avisar a los clientes",
    clear: "Quitar el aviso",
    shown: (minutes, time) =>
      `Los clientes en espera ven: retraso de unos ${minutes} ${count(minutes, "minuto", "minutos")} ` +
      `(hora prevista: ${time}).`,
    passed: (time) => `Los clientes en espera ven: hora prevista ${time}, en cualquier momento.`,
    none: "No hay aviso de retraso.",
    invalid: "Escriba un número de minutos entre 1 y 120.",
  },

  replies: {
    label: "Responder a su terapeuta",
    hint: (max) => `Hasta ${max} caracteres. Solo su terapeuta ve su respuesta.`,
    send: "Enviar respuesta",
    sent: "Respuesta enviada.",
    you: "Usted:",
    tooMany: "Espere un momento antes de enviar otra respuesta.",
    off: "Las respuestas están desactivadas aquí.",
    failed: "No se pudo enviar su respuesta. Inténtelo de nuevo.",
    fromName: (name) => `${name} respondió a su mensaje.`,
    listLabel: (name) => `Respuestas de ${name}`,
    notificationTitle: "Rapport: un cliente respondió",
    notificationBody: "Un cliente de su sala de espera respondió a su mensaje.",
  },

  waitingRoom: {
    privateNote:
      "Nadie puede verle ni oírle todavía. Su cámara y su micrófono solo llegan a su terapeuta " +
      "cuando le hace pasar.",
    newMessageTitle: (n) => `(${n}) ${count(n, "Mensaje nuevo", "Mensajes nuevos")} — Rapport`,
    muteAlerts: "Silenciar el sonido de los mensajes",
  },

  authority: {
    expiring: (time) =>
      `Su sesión iniciada termina a las ${time}. Vuelva a abrir su enlace de acceso en esta ` +
      "pestaña para mantener la sesión iniciada.",
    sessionEnding: (time) => `El tiempo de esta sesión termina a las ${time}.`,
    renewed: "Ha vuelto a iniciar sesión.",
  },

  admin: {
    title: "Monitor — Rapport",
    tagline: "Monitor",
    heading: "Salas activas",
    caption: "Todas las salas activas de todos los nodos, actualizado cada pocos segundos",
    empty: "No hay salas activas.",
    updated: (time) => `Actualizado: ${time}`,
    col: {
      room: "Sala",
      therapist: "Terapeuta",
      waiting: "En espera",
      longest: "Espera más larga",
      session: "En sesión",
      nodes: "Nodos",
      actions: "Acciones",
    },
    therapist: { present: "presente", reconnecting: "reconectando", absent: "ausente" },
    longWait: "espera larga",
    longest: "espera más larga",
    waiterDropped: "reconectando",
    waitingMore: (n) => `y ${n} más`,
    alertsHeading: "Requiere atención",
    alertTag: "alerta: sin terapeuta",
    alertText: (room, wait, therapist) =>
      `Sala ${room}: alguien lleva ${wait} esperando y el terapeuta está ${therapist}.`,
    alertNew: (room, limit) =>
      `Alerta: en la sala ${room} alguien lleva más de ${limit} esperando sin terapeuta presente.`,
    alertCleared: (room) => `La sala ${room} ya no está en alerta.`,
    role: { therapist: "Terapeuta", client: "Cliente", admin: "Administrador", system: "Sistema" },
    member: (role, id) => `${role} ${id}`,
    noOne: "—",
    timeline: {
      open: "Cronología",
      openName: (room) => `Cronología de la sala ${room}`,
      heading: (room) => `Cronología de la sala ${room}`,
      hint: "Lo que se registró para esta sala en las últimas 24 horas, de lo más antiguo a lo " +
        "más reciente. Abrirla queda registrado en el registro de auditoría.",
      close: "Cerrar la cronología",
      caption: (room, n) => count(n, `${n} evento en la sala ${room}`, `${n} eventos en la sala ${room}`),
      loading: "Cargando la cronología…",
      failed: (message) => `No se pudo cargar la cronología: ${message}`,
      empty: "No se registró nada para esta sala en las últimas 24 horas.",
      more: "Mostrar eventos posteriores",
      waited: (action, wait) => `${action} (esperó ${wait})`,
      col: {
        time: "Hora",
        action: "Qué pasó",
        participant: "Participante",
        actor: "Por",
        outcome: "Resultado",
      },
      outcome: { success: "hecho", failure: "rechazado" },
    },
    action: {
      participant: {
        joined: "Entró",
        resumed: "Se reconectó",
        admitted: "Admitido",
        denied: "Rechazado",
        sent_back: "Devuelto a la sala de espera",
        removed: "Retirado de la sesión",
        left: "Salió",
        dropped: "Se cortó la conexión",
        grace_lapsed: "Perdió su lugar tras un corte",
        session_ended: "Sesión terminada",
      },
      session: { started: "Sesión iniciada", ended: "Sesión terminada para todos" },
      room: { ended: "Sala cerrada" },
      rapport: {
        join_refused: "Entrada rechazada",
        link_issued: "Enlace de sesión creado",
        link_withdrawn: "Enlace de sesión retirado",
        token_revoked: "Token retirado",
        room_viewed: "Consultada por un administrador",
        audit_exported: "Registro de auditoría exportado",
        consent_given: "Consentimiento dado",
      },
    },
    chart: {
      heading: "Esperas en la última hora",
      summaryAdmitted: (n, median, longest) =>
        `${count(n, `${n} cliente fue admitido`, `${n} clientes fueron admitidos`)} en la última hora; ` +
        `la espera mediana fue de ${median} y la más larga, de ${longest}.`,
      noneAdmitted: "No se admitió a nadie en la última hora.",
      summaryWaiting: (n, longest) =>
        `${count(n, `${n} cliente está`, `${n} clientes están`)} esperando ahora; ` +
        `la espera más larga es de ${longest}.`,
      noneWaiting: "No hay nadie esperando ahora.",
      truncated: "Faltan algunas salas: había demasiadas para leerlas de una vez.",
      legendAdmitted: "Admitidos: cuándo y cuánto habían esperado",
      legendWaiting: "En espera ahora: cuánto llevan",
      legendAlert: (limit) => `Umbral de alerta (${limit})`,
      now: "ahora",
      minutes: (m) => `${m} min`,
      pointAdmitted: (room, time, wait) => `Sala ${room}: admitido a las ${time} tras ${wait}`,
      pointWaiting: (room, wait) => `Sala ${room}: esperando desde hace ${wait}`,
      failed: "No se pudo actualizar el gráfico; se volverá a intentar.",
      dataSummary: "El gráfico como tabla",
      dataCaption: "Esperas en la última hora, de la más reciente a la más antigua",
      noData: "No hubo esperas en la última hora.",
      col: { time: "Hora", room: "Sala", wait: "Espera", kind: "Estado" },
      kind: { admitted: "admitido", waiting: "esperando ahora" },
    },
    endRoom: "Cerrar la sala",
    endRoomName: (room) => `Cerrar la sala ${room}`,
    endConfirm: (room) => `¿Cerrar la sala ${room}? Se desconectará a todas las personas que estén en ella.`,
    ended: (room, n) => `Sala ${room} cerrada (${n} ${count(n, "desconectada", "desconectadas")}).`,
    endFailed: (room, message) => `No se pudo cerrar la sala ${room}: ${message}`,
  },

  precall: {
    heading: "Pruebe su conexión",
    hint:
      "Opcional: una prueba breve de su conexión a internet, para que su sesión vaya bien. " +
      "Dura unos diez segundos y pueden hacerle pasar en cualquier momento.",
    run: "Probar mi conexión",
    again: "Probar de nuevo",
    running: "Probando su conexión… tarda unos diez segundos.",
    busy: (seconds) =>
      `La prueba está ocupada en este momento. Inténtelo de nuevo dentro de ${seconds} ` +
      `${count(seconds, "segundo", "segundos")}, o simplemente siga esperando.`,
    failed: "La prueba no pudo terminar. No pasa nada: aun así puede entrar en su sesión.",
    client: {
      good: "Su conexión parece buena para el vídeo.",
      fair: "Su conexión funciona. El vídeo puede ir a veces menos fluido.",
      poor: "Su conexión parece débil. Su sesión puede celebrarse igualmente; los consejos de abajo pueden ayudar.",
    },
    therapist: {
      good: "Prueba de conexión: buena",
      fair: "Prueba de conexión: regular",
      poor: "Prueba de conexión: débil",
    },
    therapistAdvice: {
      good: "No se observó nada destacable.",
      unreachable: "La prueba no pudo llegar al servidor desde la red del cliente.",
      no_media: "No llegó sonido ni imagen durante la prueba del cliente.",
      relay: "El cliente solo se conecta a través del servidor de retransmisión: el vídeo puede ir menos fluido.",
      relay_tcp: "La red del cliente solo deja pasar el vídeo por una ruta más lenta: el vídeo puede ir menos fluido.",
      latency: "El sonido y la imagen pueden llegarle al cliente con un pequeño retraso.",
      loss: "Parte de la imagen y el sonido del cliente se perdió por el camino.",
      jitter: "La conexión del cliente es algo irregular.",
      bandwidth: "La conexión del cliente es lenta para el vídeo.",
    },
    advice: {
      good: "No hace falta cambiar nada.",
      unreachable:
        "La prueba no pudo llegar a nuestro servidor. Si está en una red del trabajo o pública, " +
        "otra red podría funcionar mejor.",
      no_media: "No llegó sonido ni imagen durante la prueba. Otra red podría funcionar mejor.",
      relay:
        "Su conexión funciona, pero solo a través de nuestro servidor de retransmisión: el vídeo " +
        "puede ir menos fluido.",
      relay_tcp:
        "Su red solo deja pasar el vídeo por una ruta más lenta. El vídeo puede ir menos fluido; " +
        "otra red podría ayudar.",
      latency:
        "El sonido y la imagen pueden llegar con un pequeño retraso. Acercarse al router wifi " +
        "puede ayudar.",
      loss:
        "Parte de la imagen y el sonido se perdió por el camino. Acercarse al router wifi o " +
        "cerrar otras aplicaciones puede ayudar.",
      jitter:
        "La conexión es algo irregular. Pausar las descargas o el vídeo en streaming de su red " +
        "puede ayudar.",
      bandwidth:
        "Su conexión es lenta para el vídeo. Pausar las descargas u otros vídeos de su red puede ayudar.",
    },
    path: {
      host: (transport) => `Directa (${transport})`,
      srflx: (transport) => `Directa a través del router (${transport})`,
      prflx: (transport) => `Directa (${transport})`,
      relay: (transport) => `A través del servidor de retransmisión (${transport})`,
    },
    figures: {
      path: "Ruta",
      rtt: "Ida y vuelta",
      loss: "Pérdida (subida / bajada)",
      jitter: "Fluctuación (subida / bajada)",
      bitrate: "Velocidad (subida / bajada)",
      upDown: (up, down) => `${up} / ${down}`,
      ms: (n) => `${num(n)} ms`,
      pct: (n) => `${num(n)} %`,
      kbps: (n) => `${num(n)} kb/s`,
      none: "ninguna",
    },
  },

  callQuality: {
    peerPoor: (names) =>
      `${count(names.length, "La conexión de", "Las conexiones de")} ${listOf(names)} ` +
      `${count(names.length, "tiene", "tienen")} problemas: su imagen o su sonido pueden ` +
      "congelarse o entrecortarse.",
    monitor: {
      poorNow: "calidad débil ahora",
      level: { good: "buena", fair: "regular", poor: "débil", unknown: "sin informes recientes" },
      candidate: {
        host: "directa", srflx: "directa (a través de NAT)", prflx: "directa (a través de NAT)",
        relay: "retransmitida", unknown: "ruta desconocida",
      },
      now: (who, level) => `${who}: ${level} ahora.`,
      figures: (rttMs, lossPct, jitterMs, kbps, path) => {
        const parts = [];
        if (rttMs !== null) parts.push(`ida y vuelta ${num(rttMs)} ms`);
        parts.push(`${num(lossPct)} % perdido`);
        if (jitterMs !== null) parts.push(`fluctuación ${num(jitterMs)} ms`);
        if (kbps !== null) parts.push(`${num(kbps)} kbit/s recibidos`);
        parts.push(path);
        return `Último: ${parts.join(", ")}.`;
      },
      recent: (n, poor) =>
        `${count(n, `Se muestra ${n} informe`, `Se muestran ${n} informes`)}; ` +
        `${poor} ${count(poor, "débil", "débiles")}.`,
      chartTitle: (pid) => `Calidad de la conexión de ${pid}, informes recientes`,
    },
  },


  brand: {
    logoAlt: "El logotipo de la consulta",
    supportHeading: "¿Necesita ayuda?",
    sessionWith: (name) => `Su sesión con ${name}`,
    noteFrom: (name) => (name ? `Una nota de ${name}` : "Una nota de su terapeuta"),
    console: {
      heading: "Cómo ven su sala los clientes",
      intro: "Se muestra a sus clientes en las páginas de bienvenida y de espera, tal como lo escriba aquí.",
      nameLabel: "Su nombre tal como lo ven los clientes",
      nameHint: "Por ejemplo: Dra. Ada Lee. Déjelo vacío para no mostrar ningún nombre.",
      noteLabel: "Nota de bienvenida",
      noteHint: "Texto sin formato, hasta 500 caracteres. Se conservan los saltos de línea.",
      count: (n, max) => `${num(n)} de ${num(max)} caracteres`,
      save: "Guardar",
      saved: "Guardado. Los clientes lo verán la próxima vez que abran o recarguen su enlace.",
      failed: (why) => `No se ha guardado: ${why}`,
      loadFailed: (why) => `No se pudo cargar cómo ven su sala los clientes: ${why}`,
    },
  },

  blur: {
    label: "Desenfocar mi fondo",
    hint: "Solo usted se ve nítido; la habitación detrás de usted se desenfoca antes de que su vídeo salga de este dispositivo.",
    button: "Desenfocar el fondo",
    buttonOff: "Dejar de desenfocar",
    starting: "Activando el desenfoque del fondo…",
    on: "Su fondo está desenfocado.",
    unavailable: "El desenfoque del fondo no está disponible en este servicio.",
    failed: "No se pudo activar el desenfoque del fondo en este dispositivo. Su fondo se ve.",
    tooSlow: "Se desactivó el desenfoque del fondo porque este dispositivo no daba abasto. Su fondo vuelve a verse.",
  },

  errors: {
    roomLinkLocked: {
      heading: "Esta sala no está abierta ahora",
      text: "Su terapeuta no ha abierto su sala a visitantes en este momento. Vuelva a intentarlo más tarde, o use el enlace que le enviaron su terapeuta o la consulta.",
    },
    roomLinkFull: {
      heading: "La sala de espera está llena",
      text: "Hay demasiadas personas esperando ahora mismo. Vuelva a intentarlo dentro de unos minutos, por favor.",
    },
    roomLinkUnknown: {
      heading: "Esta dirección de sala no funciona",
      text: "Compruebe que está escrita exactamente como se la dieron, o pida a su terapeuta o a la consulta la dirección de su sala.",
    },
    roomLinkBusy: {
      heading: "Demasiados intentos",
      text: "Ha habido muchos intentos desde su red en poco tiempo. Espere un minuto y vuelva a intentarlo, por favor.",
    },
    shortBusy: {
      heading: "Espere un momento, por favor",
      text: "Se ha intentado abrir este enlace muchas veces desde su red. Vuelva a intentarlo dentro de un minuto.",
    },
    shortOffline: {
      heading: "No se pudo abrir este enlace ahora",
      text: "Compruebe su conexión y vuelva a intentarlo.",
    },
    noLink: {
      heading: "Esta página necesita un enlace",
      text: "Abra el enlace completo que recibió, incluido todo lo que va después del signo #.",
    },
    invalid: {
      heading: "Este enlace no funciona",
      text: "Puede que el enlace esté incompleto o mal escrito. Pida uno nuevo, por favor.",
    },
    expired: {
      heading: "Este enlace ha caducado",
      text: "Los enlaces de sesión solo funcionan en torno a la hora de la cita. Pida uno nuevo, por favor.",
    },
    notYet: {
      heading: "Es un poco pronto",
      text: (time) => `Su enlace se abre a las ${time}. Esta página estará lista para usted entonces.`,
    },
    revoked: {
      heading: "Este enlace fue retirado",
      text: "Póngase en contacto con su terapeuta o su consulta para obtener un enlace nuevo.",
    },
    wrongKind: {
      heading: "Este enlace es para otra página",
      text: "Compruebe que abrió el enlace tal como lo recibió.",
    },
    denied: {
      heading: "No se le admitió",
      text: "Su terapeuta no pudo admitirle en esta sesión. Póngase en contacto con su terapeuta o su consulta.",
    },
    sessionEnded: {
      heading: "Esta sesión ha terminado",
      text: "Este enlace ya no la abre. Si necesita otra sesión, póngase en contacto con su terapeuta o su consulta.",
    },
    roomClosed: {
      heading: "Esta sala se ha cerrado",
      text: "Este enlace ya no la abre. Póngase en contacto con su terapeuta o su consulta si todavía necesita su sesión.",
    },
    removed: {
      heading: "Se le ha retirado de la sesión",
      text: "Si cree que se trata de un error, póngase en contacto con su terapeuta o su consulta.",
    },
    signIn: {
      heading: "Vuelva a iniciar sesión",
      text: "Su sesión iniciada ha terminado. Vuelva a abrir su enlace de acceso para continuar.",
    },
    timeUp: {
      heading: "El tiempo de la sesión ha terminado",
      text: "El tiempo reservado para esta sesión ha terminado. Póngase en contacto con su terapeuta o su consulta para reservar otra.",
    },
    idle: {
      heading: "Sesión cerrada tras un rato de inactividad",
      text: "Nadie usó esta página durante un rato, así que se bloqueó para mantener la sala privada. Vuelva a abrir su enlace de acceso para continuar.",
    },
    expiredPlace: {
      heading: "Ha perdido su lugar",
      text: "Estuvo fuera un rato. Vuelva a abrir su enlace para regresar a la sala de espera.",
    },
    linkInUse: {
      heading: "Este enlace ya está en uso",
      text: "Este enlace está abierto en otro dispositivo y solo se puede usar en uno.",
    },
    replaced: {
      heading: "Abierta en otra pestaña",
      text: "Esta sesión se abrió en otra pestaña u otro dispositivo. Puede continuar aquí en su lugar.",
    },
    roomEnded: {
      heading: "Esta sala se cerró",
      text: "La sala se cerró y se desconectó a todas las personas que estaban en ella. Puede volver a abrirla.",
    },
    gaveUp: {
      heading: "No pudimos volver a conectar",
      text: "Compruebe su conexión a internet e inténtelo de nuevo.",
    },
    name: {
      heading: "Revise su nombre",
      text: "Su nombre debe tener entre 1 y 64 caracteres.",
    },
    consent: {
      heading: "Vuelva a leer el consentimiento",
      text: "Su consulta necesita que acepte su texto de consentimiento antes de entrar, y puede " +
        "haber cambiado desde que abrió esta página. Regístrese de nuevo para leerlo.",
    },
    emergency: {
      heading: "Revise dónde está y su número de teléfono",
      text: "Dónde está puede tener hasta 200 caracteres, y el número de teléfono hasta 32 dígitos, " +
        "espacios y + ( ) - . solamente. Regístrese de nuevo para corregirlos.",
    },
    origin: {
      heading: "Esta página no puede conectarse",
      text: "Se abrió desde una dirección que el servicio no acepta.",
    },
    generic: {
      heading: "Algo salió mal",
      text: "Inténtelo de nuevo en un momento.",
    },
  },


  schedule: {
    startLabel: "Inicio de la cita (opcional)",
    startHint: "Déjelo vacío para un enlace que se abre ahora. Un enlace programado se abre 10 minutos antes.",
    lengthLabel: "Duración",
    lengths: {
      1800: "30 minutos",
      3000: "50 minutos",
      3600: "1 hora",
      5400: "90 minutos",
      7200: "2 horas",
      86400: "1 día",
      604800: "7 días",
    },
    label: "Etiqueta para usted (opcional)",
    labelHint: "Se guarda solo en este navegador, nunca se envía al servidor. Evite nombres completos.",
    startInPast: "Elija una hora de inicio a partir de ahora.",
    window: (start, end) => `${start} – ${end}`,
    invitation: (when, url) =>
      `Su sesión por vídeo es el ${when}. Cuando llegue la hora, abra este enlace: ${url}\n` +
      "Se abre 10 minutos antes y no hay nada que instalar.",
    invitationNow: (url) =>
      `Únase a su sesión por vídeo con este enlace: ${url}\nNo hay nada que instalar.`,
    copyInvitation: "Copiar la invitación",
    copyInvitationFor: (label) => `Copiar la invitación: ${label}`,
    invitationCopied: "Invitación copiada.",
    todayHeading: "Enlaces de hoy",
    todayEmpty: "Hoy no se ha creado ningún enlace.",
    unlabeled: "Enlace de sesión",
    withdraw: "Retirar",
    withdrawFor: (label) => `Retirar: ${label}`,
    withdrawConfirm: (label) =>
      `¿Retirar ${label}? Deja de funcionar al momento, y quien esté esperando con él sale de la sala.`,
    withdrawn: "Retirado",
    withdrawnDone: "Enlace retirado.",
    withdrawFailed: (message) => `No se pudo retirar el enlace: ${message}`,
    listFailed: (message) => `No se pudieron cargar los enlaces de hoy: ${message}`,
    upcoming: "Próximo",
    open: "Abierto",
    ended: "Terminado",
  },

  timer: {
    label: "Tiempo de sesión",
    elapsed: (time) => `Transcurrido ${time}`,
    endsAt: (time) => `termina a las ${time}`,
    fiveLeft: "Quedan 5 minutos de esta cita.",
    over: (time) => `El tiempo de la cita terminó a las ${time}. Termine cuando le venga bien.`,
  },

  roomLink: {
    heading: "Su enlace de sala",
    intro: "Una dirección permanente para esta sala que puede poner en la firma de su correo. Quien la abra se registra y espera a que usted le admita.",
    slugLabel: "Dirección de la sala",
    slugHint: "De 3 a 40 caracteres: letras minúsculas a-z, cifras y guiones sueltos, por ejemplo dra-rivera.",
    publish: "Publicar",
    change: "Cambiar la dirección",
    remove: "Quitar el enlace de sala",
    removeConfirm: "¿Quitar este enlace de sala? La dirección dejará de funcionar al momento. Quienes ya esperan se quedan.",
    addressLabel: "Dirección para compartir",
    copy: "Copiar la dirección",
    copied: "Dirección copiada.",
    copyFailed: "No se pudo copiar: seleccione la dirección y cópiela usted.",
    lockLabel: "Cerrada: los nuevos visitantes ven \u201cno está abierta ahora\u201d",
    lockedState: "Cerrada. Quienes ya esperan se quedan; los nuevos visitantes no pueden registrarse.",
    openState: "Abierta. Los nuevos visitantes pueden registrarse y esperar.",
    published: (url) => `Publicada: ${url}`,
    removed: "Enlace de sala quitado.",
    locked: "Enlace de sala cerrado.",
    unlocked: "Enlace de sala abierto de nuevo.",
    none: "Todavía no hay enlace de sala.",
    cap: (n) => count(n, `Como máximo ${num(n)} persona puede esperar a la vez por el enlace de sala.`, `Como máximo ${num(n)} personas pueden esperar a la vez por el enlace de sala.`),
    cameThrough: "Llegó por su enlace de sala",
    failed: "No ha funcionado. Vuelva a intentarlo, por favor.",
    tryAgain: "Volver a intentar",
  },

  serverErrors: {
    slug_invalid: "Una dirección de sala tiene de 3 a 40 caracteres: letras minúsculas a-z, cifras y guiones sueltos, y no puede ser una palabra reservada.",
    slug_taken: "Esa dirección de sala ya está en uso; elija otra, por favor.",
    room_link_not_found: "Esta dirección de sala no funciona.",
    room_link_locked: "Esta sala no está abierta ahora; vuelva a intentarlo más tarde, por favor.",
    room_link_full: "La sala de espera está llena en este momento; vuelva a intentarlo dentro de unos minutos, por favor.",
    invalid_profile: "Escriba un nombre de hasta 64 caracteres y una nota de bienvenida de hasta 500 caracteres, como texto sin formato.",
    invalid_json: "No se pudo leer el mensaje.",
    unknown_type: "La página envió algo que el servicio no conoce.",
    unknown_field: "La página envió algo que el servicio no conoce.",
    invalid_message: "Algo en la solicitud no es correcto.",
    frame_too_large: "El mensaje es demasiado grande.",
    invalid_sdp: "No se pudo establecer la conexión de vídeo.",
    sdp_too_large: "No se pudo establecer la conexión de vídeo.",
    invalid_name: "Indique un nombre de 1 a 64 caracteres.",
    invalid_request: "No se pudo leer la solicitud.",
    headers_too_large: "No se pudo leer la solicitud.",
    invalid_emergency:
      "Indique dónde está en 200 caracteres como máximo, y un número de teléfono de hasta 32 " +
      "dígitos, espacios y + ( ) - . solamente.",
    auth_required: "Inicie sesión primero.",
    auth_timeout: "El inicio de sesión tardó demasiado.",
    token_invalid: "El enlace no es válido.",
    token_expired: "El enlace ha caducado.",
    token_not_yet_valid: "El enlace todavía no es válido.",
    token_revoked: "El enlace ha sido retirado.",
    wrong_token_kind: "Este enlace es para otra página.",
    wrong_room: "Este enlace no es para esta sala.",
    origin_not_allowed: "La dirección de esta página no está permitida.",
    session_expired: "Su sesión iniciada ha caducado; vuelva a abrir su enlace de acceso.",
    reauth_refused: "El nuevo acceso es para otra persona u otra sala.",
    consent_required: "Lea y acepte el texto de consentimiento actual antes de entrar.",
    forbidden: "No tiene permiso para hacer eso.",
    not_admitted: "Esa persona no está en la sesión.",
    unknown_participant: "Esa persona no está en esta sala.",
    invalid_transition: "Eso no se puede hacer en este momento.",
    room_full: "La sesión está completa.",
    waiting_room_full:
      "La sala de espera está llena en este momento; inténtelo de nuevo dentro de unos minutos.",
    not_found: "No encontrado.",
    replaced: "Esta sesión se abrió en otra pestaña u otro dispositivo.",
    denied: "Su terapeuta no pudo admitirle en esta sesión.",
    removed: "Se le ha retirado de la sesión.",
    session_ended: "La sesión ha terminado.",
    room_ended: "La sala se ha cerrado.",
    expired: "Estuvo fuera demasiado tiempo y ha perdido su lugar.",
    left: "Ha salido de la sesión.",
    too_slow: "La conexión se quedó demasiado atrás.",
    too_many_sockets: "Este enlace está abierto en demasiados sitios a la vez.",
    time_up: "El tiempo de esta sesión ha terminado.",
    link_in_use: "Este enlace ya está en uso en otro dispositivo y solo se puede usar en uno.",
    going_away: "El servicio se está reiniciando; reconectando.",
    rate_limited: "Demasiadas solicitudes; vaya un poco más despacio.",
    too_many_attempts: "Demasiados intentos desde su red; espere un momento.",
    too_many_connections: "Demasiadas conexiones desde su red; espere un momento.",
    too_many_candidates: "No se pudo establecer la conexión de vídeo; inténtelo de nuevo.",
    not_configured: "Este servicio no ofrece esa opción.",
    precall_busy: "La prueba de conexión está ocupada en este momento; inténtelo de nuevo en unos segundos.",
    precall_time_up: "Se acabó el tiempo de la prueba de conexión.",
    precall_not_running: "No hay ninguna prueba de conexión en curso.",
    replies_off: "Las respuestas desde la sala de espera están desactivadas.",
    too_many_replies: "Demasiadas respuestas en poco tiempo; espere un momento.",
    unavailable: "El servicio no está disponible por un momento; inténtelo de nuevo en breve.",
    internal: "Algo salió mal por nuestra parte.",
    unknown: "Algo salió mal. Inténtelo de nuevo.",
  },
};
