//! What instructions to a model look like, by intent, in the languages SOCs
//! see: English, French, Spanish, German, Portuguese, Italian, Russian,
//! Chinese, Japanese, Korean and Arabic.
//!
//! Patterns read the cleaned forms of `normalise`: lower case, single
//! spaces, no accents on Latin letters (so `précédentes` is written
//! `precedentes`). `\b` is an ASCII word boundary, and patterns match bytes
//! (`.` is one byte, classes are ASCII), which keeps the automata small. Each intent asks for two
//! things together (a verb aimed at the model's instructions, verdict or
//! workflow and its object), so ordinary text that shares one word with an
//! injection ("ignore case", "the previous email", "close the ticket once
//! the user confirms") is not flagged.

/// One intent and the patterns that say it.
pub struct Intent {
    pub name: &'static str,
    pub patterns: &'static [&'static str],
}

pub const INTENTS: &[Intent] = &[
    Intent {
        name: "override of instructions",
        patterns: &[
            // en
            r"\b(?:previous|prior|preceding|earlier|above|original)\s+(?:instructions?|guidance|directions?|rules|prompt)\s+(?:is|are)\s+(?:now\s+)?(?:obsolete|void|cancell?ed|outdated|revoked|no longer valid)\b",
            r"\b(?:ignore|ignoring|disregard|forget|override|overrule|bypass|abandon|discard|set aside|pay no attention to|supersede)\b.{0,40}\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system|original|initial|developer|operator)\b.{0,30}\b(?:instructions?|prompts?|rules?|directions?|guidelines?|guidance|context|directives?|policy|policies|programming|constraints|restrictions|safeguards|messages)\b",
            r"\b(?:forget|disregard|ignore)\s+(?:everything|all)\s+(?:above|before|prior|previously|you (?:were|have been) told|we discussed)",
            r"\b(?:your|the)\s+(?:new|real|actual|true)\s+(?:instructions?|directives?|task|role|job|purpose|mission|orders?)\s+(?:is|are|supersedes?|now)\b",
            r"\bnew\s+(?:instructions?|rules|directives?|system prompt)\s*[:=]",
            r"\b(?:safety|security)\s+(?:protocols?|guidelines|rules|filters|checks)\s+(?:are\s+|have been\s+)?(?:disabled|off|suspended|lifted|do not apply)\b",
            r"\b(?:no|without)\s+(?:any\s+)?(?:restrictions|limits|filters?|rules|content policy)\b.{0,40}\b(?:answer|respond|comply|reply|proceed|output)\b",
            r"\b(?:answer|respond|comply|reply|proceed)\b.{0,40}\b(?:without|with no)\s+(?:any\s+)?(?:restrictions|limits|filters?|rules|content policy)\b",
            // fr
            r"\b(?:ignore[rz]?|oublie[rz]?|ne tiens pas compte|ne tenez pas compte|fais abstraction|faites abstraction)\b.{0,40}\b(?:instructions?|consignes?|regles|directives|indications|prompt|ce qui precede|tout ce qui precede|ce qui est au-dessus)\b",
            // es
            r"\b(?:ignora[rd]?|ignore[ns]?|olvida[rd]?|olvide[ns]?|omite|descarta|haz caso omiso|no hagas caso|pasa por alto|no tengas en cuenta)\b.{0,40}\b(?:instrucciones|indicaciones|reglas|directrices|ordenes|prompt)\b",
            // pt
            r"\b(?:ignore|ignora[rm]?|esqueca|esquece[ra]?|desconsidere|descarte)\b.{0,40}\b(?:instrucoes|instrucao|regras|diretrizes|orientacoes|ordens|prompt)\b",
            // it
            r"\b(?:ignora(?:re)?|ignorate|dimentica(?:re)?|dimenticate|trascura|non considerare|non tenere conto d\S*|non tenete conto d\S*)\b.{0,40}\b(?:istruzioni|regole|direttive|indicazioni|prompt|ordini)\b",
            // de
            r"\b(?:ignorier(?:e|en|t)?|vergiss|vergessen sie|missacht(?:e|en)|ubergeh(?:e|en)?)\b.{0,40}(?:anweisungen|instruktionen|regeln|vorgaben|befehle|richtlinien|anordnungen|prompts?)\b",
            r"\bneue\s+anweisungen?\s*[:=]",
            // ru
            r"(?:игнорируй|проигнорируй|забудь|не обращай внимания на|отбрось|пренебреги|не учитывай|не слушай)(?:те)?\s.{0,40}(?:инструкци|указани|правил|команд|промпт|ограничени)",
            r"новые\s+(?:инструкции|указания|правила)\s*[:=]",
            // zh
            r"(?:忽略|无视|無視|忽视|忽視|不要理会|不要理會|忘记|忘記|忘掉|抛开|拋開)(?:掉)?.{0,12}(?:指令|指示|说明|說明|规则|規則|提示|命令|设定|設定|约束|約束)",
            r"新的?(?:指令|指示)(?::|：)",
            // ja
            r"(?:指示|命令|ルール|指令|プロンプト|設定|制約)(?:を|は)?.{0,8}(?:無視|忘れ|破棄)",
            // ko
            r"(?:지시|명령|지침|규칙|프롬프트|설정|제약)\S{0,3}\s?.{0,8}(?:무시|잊어|잊고)",
            // ar
            r"(?:تجاهل|تجاهلي|تجاهلوا|انس|انسى|اهمل|أهمل)\s?.{0,30}(?:التعليمات|الأوامر|الاوامر|التوجيهات|القواعد|القيود|الإرشادات|الارشادات)",
        ],
    },
    Intent {
        name: "verdict dictated",
        patterns: &[
            // A severity set for the reader: "severity should be recorded as none".
            r"\bseverity\s+(?:should|must|is to|needs to|has to|shall)\s+be\s+(?:recorded|set|marked|logged|rated|reported|kept|treated|classified|downgraded)\s+(?:as|to|at)\s+(?:none|zero|0|low|info|informational|minimal|nil)\b",
            // en
            r"\b(?:classify|mark|label|treat|report|rate|consider|flag|tag|record|categori[sz]e|score|regard|deem|list|file|resolve|close)\s+(?:it|this|that|these|them|the (?:alert|event|activity|detection|incident|finding|traffic|process|request|login|connection|file|behaviou?r|command)s?)(?:\s+(?:alerts?|events?|activity|detections?|incidents?|findings?|traffic|one|entry|process|request|login|connection|file|behaviou?r|command))?\s+(?:(?:as|to be)\s+)?(?:an?\s+)?(?:benign|safe|harmless|false[\s-]?positive|clean|legitimate|legit|non[\s-]?malicious|not malicious|low[\s-]?(?:risk|severity|priority)|informational|routine|authori[sz]ed|whitelisted|allow[\s-]?listed|trusted|noise|resolved)\b",
            r"\b(?:this|the|these)\s+(?:alerts?|events?|activity|activities|detections?|incidents?|findings?|behaviou?r|traffic|logins?|connections?|processes|commands?|requests?)\s+(?:is|are|was|were)\s+(?:completely\s+|totally\s+|entirely\s+|perfectly\s+|100% |just\s+|only\s+|definitely\s+)?(?:benign|safe|harmless|an? false[\s-]?positive|false[\s-]?positives?|legitimate|not malicious|authori[sz]ed|sanctioned|pre-?approved|whitelisted|nothing to worry about)\b",
            r"\b(?:return|respond|output|answer|reply|set|give|use|emit)\b.{0,20}\bverdict\b.{0,12}\b(?:benign|safe|false[\s-]?positive|clean)\b",
            r#""?verdict"?\s*[:=]\s*"?(?:benign|safe|false_positive)\b"#,
            r"\b(?:lower|reduce|downgrade|set|drop)\s+(?:the\s+)?(?:severity|priority|risk)\s+(?:of\s+)?(?:this|the|its)\s*(?:alert|incident|detection|event|finding)?\s*to\s+(?:low|none|zero|0|informational|info|minimal)\b",
            r"\b(?:lower|reduce|downgrade)\s+(?:this|the|it)\s*(?:alert|incident|detection|event|finding)?\s+to\s+(?:low|none|informational|info|minimal|p[45])\b",
            r"\b(?:answer|respond|reply|say|conclude)\b(?:\s+(?:only\s+)?with|\s+that)?.{0,40}\b(?:clean|fine|benign|okay|normal|safe|harmless|in order|nothing (?:found|suspicious|to report)|no (?:issue|threat|problem)s?)\b",
            r"\b(?:this|it|that)\s+(?:is|was|'s)\b.{0,40}\b(?:totally|completely|perfectly|entirely|absolutely|100%)\s+(?:harmless|benign|safe|legitimate|normal|fine)\b",
            r"\b(?:reponde[zs]?|dites|dis|concluez|conclus)\b.{0,40}\b(?:sain|propre|normal|benin|rien|tout va bien)\b",
            r"\b(?:responde|responda|di|diga|concluye)\b.{0,40}\b(?:bien|limpio|normal|benigno|seguro|nada)\b",
            r"\b(?:responda|diga|conclua)\b.{0,40}\b(?:limpo|normal|bem|benigno|seguro|nada)\b",
            r"\b(?:rispondi|dici|concludi)\b.{0,40}\b(?:a posto|pulito|normale|benigno|sicuro|nulla|niente)\b",
            r"\b(?:antworte|antworten sie|sage|sagen sie)\b.{0,40}\b(?:in ordnung|sauber|harmlos|normal|nichts)\b",
            r"(?:ответь|ответьте|скажи|скажите)\s.{0,40}(?:в порядке|чист|норм|безопасн|ничего)",
            r"(?:回答|回复|回覆|答复|答覆)(?:说|說)?.{0,10}(?:一切正常|正常|安全|没有问题|沒有問題|无害|無害|良性)",
            r"(?:問題なし|正常|安全|無害)(?:と|だと).{0,4}(?:回答|答え|返答|報告)",
            r"(?:문제\s?없|정상|안전)\S{0,4}\s?(?:답|응답|보고)",
            r"(?:أجب|اجب|قل|رد)\s.{0,30}(?:على ما يرام|آمن|طبيعي|لا مشكلة|سليم)",
            // fr
            r"\b(?:marque[rz]?|classe[rz]?|classifie[rz]?|considere[rz]?|traite[rz]?|signale[rz]?|qualifie[rz]?|indique[rz]?|declare[rz]?|note[rz]?)\b.{0,40}\bcomme\s+(?:un\s+|une\s+)?(?:benin|benigne|sur|sure|sans danger|inoffensi(?:f|ve)|faux positif|legitime|non malveillante?|normale?)\b",
            r"\b(?:cette|l'|l ) ?(?:alerte|activite|evenement|detection)\s+(?:est|etait)\s+(?:totalement\s+|tout a fait\s+|parfaitement\s+)?(?:benigne?|sure?|sans danger|inoffensi(?:f|ve)|un faux positif|legitime|normale?|autorisee?)\b",
            // es
            r"\b(?:marca[rd]?|marque|clasifica[rd]?|clasifique|considera[rd]?|considere|trata[rd]?|trate|reporta[rd]?|etiqueta[rd]?|etiquete|califica[rd]?)\b.{0,40}\bcomo\s+(?:un\s+|una\s+)?(?:benign[oa]|segur[oa]|inofensiv[oa]|falso positivo|legitim[oa]|no malicios[oa]|normal|limpi[oa])\b",
            r"\b(?:esta|la|este|el)\s+(?:alerta|actividad|deteccion|evento)\s+(?:es|era)\s+(?:totalmente\s+|completamente\s+)?(?:benign[oa]|segur[oa]|inofensiv[oa]|un falso positivo|legitim[oa]|normal|autorizad[oa])\b",
            // pt
            r"\b(?:marque|marca[r]?|classifique|classifica[r]?|considere|considera[r]?|trate|trata[r]?|rotule|reporte)\b.{0,40}\bcomo\s+(?:um\s+|uma\s+)?(?:benign[oa]|segur[oa]|inofensiv[oa]|falso positivo|legitim[oa]|nao malicios[oa]|normal|limp[oa])\b",
            r"\b(?:este|esta|o|a)\s+(?:alerta|atividade|deteccao|evento)\s+(?:e|era)\s+(?:totalmente\s+|completamente\s+)?(?:benign[oa]|segur[oa]|inofensiv[oa]|um falso positivo|legitim[oa]|normal|autorizad[oa])\b",
            // it
            r"\b(?:segna(?:re|te|lo|la)?|classifica(?:re|te|lo|la)?|considera(?:re|te|lo|la)?|tratta(?:re|te|lo|la)?|contrassegna(?:re|te)?|etichetta(?:re)?|marca(?:re)?)\b.{0,40}\bcome\s+(?:un\s+|una\s+)?(?:benign[oa]|sicur[oa]|innocu[oa]|falso positivo|legittim[oa]|non malevol[oa]|normale|attendibile)\b",
            r"\b(?:questo|questa|l'|l ) ?(?:avviso|allarme|alert|attivita|evento|rilevamento)\s+(?:e|era)\s+(?:del tutto\s+|completamente\s+)?(?:benign[oa]|sicur[oa]|innocu[oa]|un falso positivo|legittim[oa]|normale|autorizzat[oa])\b",
            // de
            r"\b(?:markier(?:e|en|t)?|klassifizier(?:e|en|t)?|stuf(?:e|en|t)?|betracht(?:e|en)?|behandl(?:e|en)?|bewert(?:e|en)?|kennzeichn(?:e|en)?|werte)\b.{0,50}\bals\s+(?:(?:einen?|ein)\s+)?(?:harmlos|gutartig|sicher|unbedenklich|fehlalarm|false[\s-]?positive|legitim|nicht bosartig|ungefahrlich)",
            r"\b(?:dieser|der|diese|die|dieses|das)\s+(?:alarm|alert|vorfall|aktivitat|ereignis|meldung|warnung|befund)\s+(?:ist|war)\s+(?:vollig\s+|ganz\s+|absolut\s+)?(?:harmlos|gutartig|sicher|unbedenklich|ein fehlalarm|legitim|autorisiert|genehmigt)\b",
            // ru
            r"(?:пометь|отметь|классифицируй|считай|рассматривай|обозначь|квалифицируй|отнеси|оцени|расцени)(?:те)?\s.{0,40}(?:безопасн|безвредн|доброкачественн|ложн\S*\s+срабатывани|ложноположительн|легитимн|не\s?вредоносн)",
            r"(?:это|этот|данн\S+)\s+(?:оповещение|алерт|событие|инцидент|предупреждение|срабатывание|активность)\s+(?:является\s+|-\s+)?(?:полностью\s+|абсолютно\s+)?(?:безопасн|безвредн|ложн\S*\s+срабатывани|легитимн)",
            // zh
            r"(?:标记|標記|归类|歸類|分类|分類|认定|認定|判定|定|视|視|当|當|报告|報告|处理|處理|看作)(?:为|為|成|作)\s?(?:一个|一個)?\s?(?:良性|安全|误报|誤報|无害|無害|合法|非恶意|非惡意|正常)",
            r"(?:这个|這個|此|该|該|本)(?:警报|警報|告警|警告|事件|活动|活動|检测|檢測)(?:是|为|為|属于|屬於)(?:完全)?(?:良性|安全的|误报|誤報|无害|無害|合法的)",
            r"(?:这是|這是|此为|此為)(?:一个|一個|一次)?(?:误报|誤報|良性事件|无害|無害)",
            // ja
            r"(?:安全|良性|誤検知|誤検出|無害|正常|問題なし|偽陽性)(?:な|の)?(?:もの|アラート|イベント)?(?:として|と)\s?.{0,6}(?:分類|マーク|扱|判定|報告|処理|記録|見な|みな)",
            r"(?:この|本)(?:アラート|イベント|検知|通知|活動)(?:は|が)(?:完全に)?(?:安全|良性|誤検知|誤検出|無害|問題ありません|問題なし)",
            // ko
            r"(?:안전|정상|오탐|양성|무해|합법)(?:한|적인|인)?\s?(?:것|경고|이벤트)?(?:으로|로)\s?.{0,6}(?:분류|표시|처리|간주|보고|판단|기록)",
            r"(?:이|본)\s?(?:경고|알림|이벤트|탐지|활동)(?:은|는|이|가)\s?(?:완전히\s)?(?:안전|오탐|양성|무해)",
            // ar
            r"(?:صنف|صنّف|اعتبر|عامل|ضع علامة|سجل|أبلغ|حدد)\s?.{0,30}(?:آمن|امن|حميد|غير ضار|إنذار كاذب|انذار كاذب|إيجابي كاذب|ايجابي كاذب)",
            r"(?:هذا|هذه)\s(?:التنبيه|الإنذار|الانذار|الحدث|النشاط)\s(?:هو\s|هي\s)?(?:آمن|حميد|غير ضار|إنذار كاذب|انذار كاذب)",
        ],
    },
    Intent {
        name: "workflow steered",
        patterns: &[
            // en
            r"\b(?:close|dismiss|suppress|resolve|auto[\s-]?close|silence|mute|discard|archive|delete|drop|ignore)\s+(?:this|these|that|all|any)\s+(?:alerts?|incidents?|detections?|findings?|cases?|events?)\b",
            r"\b(?:close|dismiss|suppress|auto[\s-]?close|silence|discard)\s+the\s+(?:alerts?|incidents?|detections?|findings?)\b",
            r"\b(?:recommend|suggest|propose)\s+no\s+(?:action|response|escalation|remediation)\b",
            r"\b(?:report|flag|escalate|say)\s+nothing\b",
            r"\bwithout\s+(?:any\s+)?(?:escalation|escalating|review|investigation|triage)\b",
            r"\bclose\s+(?:it|this|this one)\s+out\b|\bclose\s+out\s+(?:this|the|it)\b",
            r"\b(?:alerts?|detections?|incidents?|this|it|events?)\b.{0,40}\b(?:must|should|are to|shall)\s+be\s+(?:auto[\s-]?(?:resolved|closed)|suppressed|ignored|dismissed|whitelisted|silenced)\b",
            r"\b(?:wants|asks|needs|requires|instructs|told)\s+you\s+to\s+(?:downgrade|close|ignore|dismiss|mark|classify|suppress|skip|lower|resolve|approve)\b",
            r"\b(?:do not|don'?t|never|no reason to|no need to|must not|mustn'?t|should not|shouldn'?t)\s+(?:open|create|raise|file|log|start)\s+(?:an?\s+|any\s+)?(?:incidents?|cases?|tickets?|alerts?)\b",
            r"\bne\s+(?:signale[zr]?|remonte[zr]?|rapporte[zr]?)\s+rien\b",
            r"\bn'?\s?ouvre[zr]?\s+(?:pas|aucun)\b.{0,10}\bincident",
            r"\bno\s+(?:abras|abra|crees|cree|registres)\s+(?:ningun\s+|ninguna\s+|un\s+|una\s+)?(?:incidente|caso|ticket)",
            r"\bnao\s+(?:abra|crie|registre)\s+(?:nenhum\s+|um\s+)?(?:incidente|caso|chamado)",
            r"\bnon\s+(?:aprire|creare|aprite|create)\s+(?:alcun\s+|nessun\s+|un\s+)?(?:incidente|caso|ticket)",
            r"\bkein(?:en|e)?\s+(?:vorfall|incident|ticket|fall)\s+(?:anlegen|erstellen|eroffnen|aufmachen)",
            r"не\s+(?:создавай|создавайте|открывай|открывайте|заводи|заводите)\s+(?:\S+\s+)?(?:инцидент|тикет|заявк)",
            r"(?:不要|请勿|請勿|别|別|无需|無需)(?:创建|創建|建立|开|開|提交)(?:任何)?(?:事件|工单|工單|案例)",
            r"(?:インシデント|チケット|ケース)を?(?:作成|起票|登録)しないで",
            r"(?:인시던트|티켓|케이스)(?:를|을)?\s?(?:만들지|생성하지|열지)\s?(?:마|말)",
            r"لا\s(?:تفتح|تنشئ|تسجل)\s(?:أي\s)?(?:حادثة|حادث|تذكرة|بلاغ)",
            r"\b(?:do not|don'?t|never|no need to|there is no need to|you (?:do not|don'?t) need to|you should not|must not|mustn'?t|stop)\s+(?:escalat\w*|alert\w*|flag\w*|notify\w*|investigat\w*|page|wake|review(?:ing)?\s+(?:this|it)|open(?:ing)?\s+(?:a\s+)?(?:ticket|case|incident)|report(?:ing)?\s+(?:this|it)|rais(?:e|ing)\s+(?:a\s+|an\s+)?(?:alert|incident|alarm))\b",
            r"\b(?:whitelist|allow-?list|exclude|suppress)\s+(?:it\s+)?(?:and|&)\s+(?:close|resolve|dismiss)\b",
            r"\b(?:don'?t|do not|no need to)\s+(?:bother|wake|page|disturb)\s+(?:the\s+)?(?:on-?call|soc|analysts?|team|responders?|anyone|ir team)\b",
            r"\btreat\b.{0,40}\bas\s+(?:trusted|benign|safe|normal)\b.{0,20}\b(?:from now on|going forward|permanently|always)\b",
            r#"\b(?:output|verdict|answer|classification)\s*[:=]\s*['"]?(?:clean|benign|safe|harmless|false positive|informational)\b"#,
            r"\b(?:you should|you must|you need to|you have to|please)\s+(?:\w+\s+){0,2}(?:clear|close|resolve|dismiss|suppress)\s+(?:this|the|these)\s+(?:alerts?|incidents?|detections?|cases?)\b",
            r"\b(?:skip|bypass|waive)\s+(?:the\s+|any\s+)?(?:human\s+)?(?:review|triage|analysis|escalation|approval|investigation|confirmation)s?\b",
            r"\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?(?:tool\s+)?[a-z]+_[a-z_]+\b.{0,60}\b(?:before|to|and|then|with)\b",
            r"\b(?:call|use|invoke)\s+(?:the\s+)?(?:send_email|delete_file|http_post|execute|run_command|shell)\b",
            r"\b(?:append|include|add|insert|repeat)\b.{0,40}\b(?:token|code|string|reference|canary|marker)\b.{0,40}\b(?:reply|response|answer|summary|output|report|review)\b",
            r"\b(?:include|append|add|insert|repeat|mention|put)\b.{0,60}\b(?:in|to|at the end of|into)\s+(?:(?:your|my|the)\s+(?:summary|assessment|verdict|review|analysis)|(?:every|each|all|any)\s+(?:future\s+)?(?:\w+\s+)?(?:summar\w+|repl\w+|responses?|answers?|reports?))\b",
            r"\bmust be (?:included|appended|added|repeated|mentioned) (?:in|to) (?:every|each|all|your)\b",
            r"\b(?:save|store|write|add|keep)\b.{0,30}\b(?:to|in|into)\s+your\s+(?:long[\s-]?term\s+)?memory\b",
            r"\bremember\b.{0,20}\b(?:for|in)\s+(?:all|every|each)\s+(?:future\s+)?(?:tasks?|turns?|sessions?|conversations?|replies|reports)\b",
            r"\b(?:call|invoke)\s+(?:the\s+)?[a-z]+ [a-z]+\s+(?:tool|function)\b",
            r"\b(?:call|invoke|use)\s+(?:the\s+)?(?:send|delete|http|post|exec|execute|run|write|upload|fetch|read|shell|transfer|remove)\s+(?:email|file|post|get|request|command|url|money|files|shell)\b.{0,40}\b(?:on|to|with|before|and)\b",
            r"\b(?:collect|gather|harvest|dump|extract|copy)\b.{0,40}\b(?:customer|user|credential|password|api key|secret|token|email|order|record|data)\w*\b.{0,40}\b(?:send|forward|email|upload|post|exfiltrate)\b",
            r"\b(?:send|forward|email|upload|post)\s+(?:them|it|this|these|everything|all of (?:it|them))\s+to\s+\S*@",
            r"\b(?:rassemble|collecte|recupere|copie)[rz]?\b.{0,40}\b(?:donnees|clients|identifiants|mots de passe)\b.{0,40}\b(?:envoie|transmet|expedie)",
            r"\b(?:recopila|reune|extrae|recoge)\b.{0,40}\b(?:datos|clientes|credenciales|contrasenas)\b.{0,40}\b(?:envia|manda|reenvia)",
            r"\b(?:sammle|extrahiere|kopiere)\b.{0,40}\b(?:daten|kunden|zugangsdaten|passworter)\b.{0,40}\b(?:sende|schicke|leite)",
            r"\b(?:before|when)\s+you\s+(?:answer|respond|reply|summari[sz]e|process|read|review|analy[sz]e)\b.{0,60}\b(?:call|send|append|include|delete|forward|email|ignore|reveal)\b",
            r"\b(?:email|send|forward|upload|post|exfiltrate)\b.{0,40}\b(?:customer|user|order|credential|password|api key|secret|data)\w*\b.{0,40}\b(?:to|externally)\b.{0,40}(?:@|https?://|externally)",
            // fr
            r"\b(?:ferme[rz]?|cloture[rz]?|ignore[rz]?|supprime[rz]?|rejette[rz]?)\s+(?:cette|l'|l |les|ces) ?(?:alertes?|incidents?|detections?|evenements?)\b",
            r"\bn(?:e\s|'|\s)\s?(?:la\s|le\s|les\s|l'|l\s)?(?:escalade[rz]?|signale[rz]?|remonte[rz]?)\s+pas\b",
            r"\bne\s+pas\s+(?:escalader|signaler|remonter|enqueter)\b",
            r"\bpas\s+besoin\s+d(?:e\s|'|\s)\s?(?:escalade|escalader|examen|revue|analyse|enquete|verification|signaler)",
            // es
            r"\b(?:cierra|cierre|cerrar|descarta|descarte|ignora|ignore|archiva|suprime|elimina)\s+(?:esta|la|estas|las|este|el)\s+(?:alertas?|incidentes?|detecci(?:on|ones)|eventos?)\b",
            r"\bno\s+(?:la\s+|lo\s+)?(?:escales|escale|escalar|reportes|reporte|notifiques|notifique|investigues|investigue)\b",
            r"\bno\s+(?:hace falta|es necesario|necesita)\s+(?:escalar|revisar|investigar|reportar)",
            // pt
            r"\b(?:feche|fechar|descarte|ignore|arquive|encerre|encerrar)\s+(?:este|esta|o|a|estes|os)\s+(?:alertas?|incidentes?|deteccao|deteccoes|eventos?)\b",
            r"\bnao\s+(?:o\s+|a\s+)?(?:escale|escalar|reporte|notifique|investigue)\b",
            r"\bnao\s+(?:e necessario|precisa)\s+(?:escalar|revisar|investigar)",
            // it
            r"\b(?:chiudi|chiudere|archivia|ignora|scarta|elimina)\s+(?:questo|questa|l'|l |gli|il|la|questi) ?(?:allarmi?|avvis[oi]|alert|incident[ei]|rilevament[oi]|event[oi])\b",
            r"\bnon\s+(?:lo\s+|la\s+)?(?:escalare|segnalare|inoltrare|notificare|indagare)\b",
            r"\bnon\s+(?:serve|e necessario|c'e bisogno di)\s+(?:escalare|verificare|indagare|revisionare|segnalare)",
            // de
            r"\b(?:schliess(?:e|en)?|schließ(?:e|en)?|verwirf|ignorier(?:e|en)?|archivier(?:e|en)?|unterdruck(?:e|en)?|losch(?:e|en)?)\s+(?:diesen|den|diese|die|dieses|das|alle)\s+(?:alarme?|alerts?|vorfalle?|meldungen?|warnungen?|ereignisse?|detektionen?)\b",
            r"\bnicht\s+(?:eskalieren|melden|weiterleiten|untersuchen|prufen|benachrichtigen)\b",
            r"\b(?:eskaliere|melde)\s+(?:das|dies|diesen|es|ihn)\s+nicht\b",
            r"\bkeine\s+(?:eskalation|prufung|untersuchung|meldung)\s+(?:notig|erforderlich|notwendig)",
            // ru
            r"(?:закрой|отклони|проигнорируй|игнорируй|удали|скрой)(?:те)?\s+(?:это|этот|эти|данн\S+)?\s?(?:оповещени|алерт|инцидент|событи|предупреждени|срабатывани)",
            r"не\s+(?:нужно\s+|надо\s+|стоит\s+)?(?:эскалир|сообща|передава|расследова|уведомля|поднима)",
            // zh
            r"(?:关闭|關閉|忽略|忽视|忽視|取消|删除|刪除|归档|歸檔|驳回|駁回)(?:此|这个|這個|该|該|这些|這些|本)(?:警报|警報|告警|事件|警告|检测|檢測)",
            r"(?:不要|不需要|无需|無需|不必|请勿|請勿|别|別)(?:再)?(?:上报|上報|升级|升級|报告|報告|通知|调查|調查|审查|審查)",
            // ja
            r"(?:この|本|これらの)(?:アラート|インシデント|イベント|検知|通知)を?(?:閉じ|クローズ|無視|却下|削除|破棄)",
            r"(?:エスカレーション|エスカレート|報告|通知|調査)(?:は|を)?(?:しないで|不要|する必要はありません|しなくて)",
            // ko
            r"(?:이|본|해당)\s?(?:경고|알림|이벤트|탐지|인시던트)(?:을|를)?\s?(?:닫|종료|무시|삭제|해제)",
            r"(?:에스컬레이션|보고|신고|조사|검토)(?:하지\s?마|하지\s?말|할\s?필요\s?(?:가\s?)?없|는\s?필요\s?없)",
            // ar
            r"(?:أغلق|اغلق|أغلقي|تجاهل|احذف|ارفض)\s(?:هذا\s|هذه\s)?(?:التنبيه|الإنذار|الانذار|الحادث|الحدث)",
            r"(?:لا\s?(?:تقم|داعي|حاجة)|ليست هناك حاجة)\s?(?:ب|ل|إلى|الى)?\s?(?:التصعيد|تصعيد|الإبلاغ|الابلاغ|للتحقيق|التحقيق)",
            r"لا\s(?:تصعد|تبلغ|تحقق)",
        ],
    },
    Intent {
        name: "role or prompt hijack",
        patterns: &[
            // en
            r"\byou\s+are\s+(?:now|from now on)\s+(?:an?|the|my)\s+(?:\S+\s+){0,3}(?:assistant|ai|model|analyst|bot|agent|developer|admin|administrator|expert|hacker|persona|character|dan|system|version|entity)\b",
            r"\byou\s+are\s+(?:now\s+)?(?:in|operating in|running in)\s+(?:\S+\s+){0,2}mode\b",
            r"\byour\s+(?:rules|instructions|guidelines|policy|policies|restrictions)\s+(?:have|has)\s+(?:now\s+)?(?:changed|been (?:updated|replaced|lifted|removed|revoked))\b",
            r"\byou\s+are\s+(?:now\s+)?(?:free|dan|unrestricted|unfiltered|uncensored|jailbroken|allowed to|permitted to|no longer (?:bound|restricted|a|an|the|required))\b",
            r"\bfrom\s+now\s+on\s*,?\s+(?:you|your|respond|answer|act|ignore)\b",
            r"\b(?:act|behave|respond|answer|reply)\s+as\s+(?:if\s+you\s+(?:were|are|have)\s+)?(?:an?\s+)?(?:unrestricted|uncensored|different|new|jailbroken|evil|rogue|unfiltered|dan\b|no (?:rules|filters|limits))",
            r"\bpretend\s+(?:to be|you are|that you|you have)\b.{0,40}\b(?:ai|model|assistant|no\s+(?:rules|restrictions|content policy|filter))\b",
            r"\b(?:developer|god|dan|jailbreak|unrestricted|unfiltered|uncensored)\s+mode\b",
            r"\bjailbr(?:eak|oken)\b",
            r"\bdo anything now\b",
            r"\b(?:system|developer)\s+(?:prompt|override|instructions?)\s*[:=>]",
            r"\b(?:developer|assistant)\s+(?:message|note)\s*[:=>]",
            r"\bsystem\s+(?:note|override)\s*:",
            r"(?:^|[\s>\]|#-])(?:system|assistant|\[system\])\s*:\s*(?:you|ignore|from|new|the user|disregard|forget|grant|sure|cleanup|call|override|understood|ok|okay|certainly|i will|i'll|of course|noted)",
            r"</?(?:system|instructions?|im_start|im_end|assistant|sys|thinking)>",
            r"<\|(?:im_start|im_end|system|endoftext|start_header_id|end_header_id|eot_id)\|>",
            r"\[/?(?:inst|sys|system)\]",
            r"<<\s*/?sys\s*>>",
            r"#{2,}\s*(?:system|instructions?|new instructions|override|end of (?:user )?input)",
            r"-{3,}\s*end of (?:document|user input|input|context)\s*-{3,}",
            r"\b(?:reveal|print|show|output|repeat|display|leak|dump|tell me|disclose|reproduce)(?:ing|s)?\s+(?:me\s+)?(?:your|the|all|everything in your)\s+(?:(?:full|entire|exact|original|hidden|secret|initial|internal|system)\s+)*(?:system\s+)?(?:prompt|instructions|canary|configuration|context window|operating instructions|message)\b",
            r"\b(?:what|which)\s+(?:was|were|are|is)\s+(?:written|said|the instructions)\s+(?:above|before)\b",
            r"\brepeat\s+the\s+(?:words|text)\s+above\b",
            r"\b(?:decode|translate|decipher|convert|decrypt)\b.{0,40}\b(?:and|then)\s+(?:do|follow|execute|run|obey)\b",
            r"\b(?:instructions|prompt|rules|directions)\s+you\s+(?:were|have been|are)\s+given\b",
            r"\b(?:reasoning|thinking|thought)(?: trace)?\s*\(assistant\)\s*:",
            r"\b(?:exempt from|not meant for|do not apply to|does not apply to|no longer apply to)\b.{0,40}\b(?:restrictions|rules|guidelines|policy|policies|safety)\b",
            r"\b(?:restrictions|rules|guidelines|policy|policies)\b.{0,40}\b(?:exempt|were not meant|do not apply|don't apply|does not apply|no longer apply)\b",
            r"\b(?:linee guida|regole)\b.{0,40}\bnon (?:valgono|si applicano)\b",
            r"(?:richtlinien|regeln)\b.{0,40}\bnicht (?:gelten|anwendbar)\b",
            r"\bregles\b.{0,40}\bne s'appliquent pas\b",
            r"\breglas\b.{0,40}\bno (?:aplican|se aplican)\b",
            r"\b(?:follow|obey|execute)\s+(?:the\s+)?(?:instructions?|commands?)\s+(?:inside|within|encoded|hidden|below)\b",
            // fr
            r"\b(?:tu es|vous etes)\s+(?:maintenant|desormais|a present)\s+(?:un|une|en mode|sans|libre)\b",
            r"\b(?:a partir de maintenant|desormais|dorenavant)\s*,?\s*(?:tu|vous)\b",
            r"\b(?:revele|affiche|montre|repete|divulgue)[rz]?(?:-moi)?\s+(?:ton|votre|le|tes|vos|les)\s+(?:prompt|instructions|consignes)",
            r"\bnote systeme\s*:",
            // es
            r"\b(?:ahora eres (?:un|una) (?:\S+ ){0,2}(?:asistente|ia|analista|agente|modelo|experto|hacker)|ahora eres libre|ahora estas en modo|a partir de ahora\s*,?\s*(?:eres|tu|vas|debes|usted))\b",
            r"\bahora eres\b.{0,30}\bsin (?:restricciones|reglas|limites|filtros)\b",
            r"\b(?:revela|muestra|repite|imprime)(?:me)?\s+(?:tu|tus|el|las|su|sus)\s+(?:prompt|instrucciones)",
            r"\bnota del sistema\s*:",
            // pt
            r"\b(?:agora voce e|agora tu es)\s+(?:um|uma|livre)\b",
            r"\ba partir de agora\s*,?\s*(?:voce|tu)\b",
            r"\b(?:revele|mostre|repita|imprima)\s+(?:seu|suas|o|as|teu|tuas)\s+(?:prompt|instrucoes)",
            // it
            r"\b(?:ora sei|adesso sei|d'ora in poi\s*,?\s*(?:sei|tu|devi))\b",
            r"\b(?:rivela|mostra|ripeti|stampa)(?:mi)?\s+(?:il tuo|le tue|il|le)\s+(?:prompt|istruzioni)",
            r"\bnota di sistema\s*:",
            // de
            r"\b(?:du bist|sie sind)\s+(?:jetzt|nun|ab sofort|ab jetzt)\s+(?:ein|eine|im|frei|uneingeschrankt|ohne)\b",
            r"\bab\s+(?:sofort|jetzt)\s*,?\s*(?:bist du|du|sie|hast du|gibst du)\b",
            r"\b(?:zeige|verrate|wiederhole|gib)\s+(?:mir\s+)?(?:deinen|deine|ihren|ihre|den|die)\s+(?:system-?prompt|prompt|systemanweisungen|anweisungen)",
            r"\bsystemhinweis\s*:",
            // ru
            r"теперь\s+ты\b|ты\s+теперь\b|с\s+этого\s+момента\s+ты|отныне\s+ты",
            r"(?:покажи|раскрой|повтори|выведи)(?:те)?\s+(?:мне\s+)?(?:свой|свои|твой|твои|системн)\w*\s*(?:промпт|инструкци)",
            // zh
            r"你现在是|你現在是|从现在开始(?:,|，)?你|從現在開始(?:,|，)?你|现在起你|現在起你|假装你是|假裝你是",
            r"(?:显示|顯示|泄露|洩露|输出|輸出|重复|重複|告诉我|告訴我)(?:你的)?(?:系统|系統)?(?:提示词|提示詞|提示|指令)",
            // ja
            r"あなたは今|今からあなたは|これからあなたは|あなたはもう",
            r"(?:システムプロンプト|指示)を(?:表示|教え|出力|繰り返)",
            // ko
            r"(?:너는|당신은|넌)\s?이제|지금부터\s?(?:너는|당신은|넌)",
            r"(?:시스템\s?프롬프트|지시)(?:를|을)?\s?(?:보여|출력|알려|공개)",
            // ar
            r"أنت الآن|انت الان|أنت الان|من الآن فصاعدا|من الان فصاعدا",
            r"(?:اكشف|أظهر|اظهر|اعرض|كرر)\s(?:عن\s)?(?:تعليماتك|التعليمات|موجه النظام)",
        ],
    },
    Intent {
        name: "social engineering of the analyst",
        patterns: &[
            r"\b(?:this|it|the activity|the scan|this scan|this traffic)\s+(?:is|was)\s+(?:an?\s+|part of an?\s+|part of the\s+)?(?:approved|authori[sz]ed|sanctioned|scheduled|planned|known|routine|legitimate|internal|expected|pre-?approved)\s+(?:security\s+)?(?:test|pen[\s-]?test|penetration test|red[\s-]?team|exercise|scan|drill|assessment|audit|simulation)\b",
            r"\b(?:the|our|your)\s+(?:soc|security team|security operations|analysts?|admins?|administrators?|it (?:team|department)|ciso|manager|soc manager|blue team)\s+(?:has|have)\s+(?:already\s+)?(?:approved|reviewed|cleared|authori[sz]ed|whitelisted|allow[\s-]?listed|signed off on|verified|confirmed)\s+(?:this|it|the (?:alert|activity|event|detection|behaviou?r|scan))\b",
            // The address ends there ("note to the AI: …", "note for the assistant, …")
            // or goes on to the model; "note for the AI working group" is for people.
            r"\b(?:note|message|instructions?|hint|reminder|attention|notice|important)\s+(?:to|for)\s+(?:the\s+|any\s+|our\s+)?(?:ai|llm|model|assistant|analy[sz]er|bot|automated (?:reviewer|analyst|system|triage)|gpt|chatgpt|claude|copilot|ai (?:system|agent|assistant|analyst|reviewer|triager)s?)(?:\s*(?:[:,;.!]|-|–|—)|\s+(?:please|kindly|you|reading|reviewing|triaging|processing|analy[sz]ing|do not|don't|never|must|should)\b|\s*$)",
            r"\battention\s*,?\s*(?:automated|ai|llm|model|assistant|triage|analy[sz]er|bot)\b",
            r"\bwhoever (?:reads|processes|reviews|sees|analy[sz]es) this\b",
            r"\b(?:dear|hello|hi|hey)\s+(?:ai|llm|model|assistant|analy[sz]er|bot|gpt|chatgpt|claude|copilot)\b",
            r"\b(?:if you are|you are|to) an? (?:ai|llm|language model|automated (?:agent|system|analyst))\b.{0,80}\b(?:ignore|must|should|please|do not|don't|append|include|call|mark|close)\b",
            r"\b(?:any\s+)?ai\s+(?:assistant|system|agent|analyst|model)s?\s+(?:reading|processing|reviewing|analy[sz]ing)\s+(?:this|these)\b",
            r"\bai\s+(?:coding\s+)?(?:assistants?|systems?|agents?|analysts?|models?)\b.{0,40}\b(?:should|must|need to|are instructed|are hereby)\b",
            r"\bfor ai (?:coding )?(?:agents|assistants|models|systems)\b",
            r"\bas\s+(?:the|your)\s+(?:soc manager|administrator|admin|developer|operator|owner|ciso|supervisor|creator|security lead)\s*,?\s*(?:i|we)\b",
            r"\b(?:i|we)\s+(?:am|are)\s+(?:the|your)\s+(?:soc manager|administrator|developer|operator|owner|ciso|supervisor|creator)\b",
            r"\bplease\b.{0,40}\b(?:treat|mark|consider|classify|close|dismiss|skip|ignore|resolve|rate)\b.{0,40}\b(?:alert|incident|detection|activity|finding|this event)\b",
            r"\b(?:the user|user) (?:has|have) (?:granted|given) (?:permission|consent|approval)\b.{0,40}\b(?:skip|bypass|ignore|without)\b",
            r"\b(?:cher|chere|querido|querida|caro|cara|liebe|lieber|prezado|prezada)\s+(?:ia|ki|ai|assistant|assistente|asistente|modele|modelo|modello)\b",
            r"\bnote\s+(?:a|pour)\s+l'?\s?(?:ia|assistant|analyste automatique)\b",
        ],
    },
];

/// Signals that, together, make a text read as instructions to a model even
/// when no phrase above matches: who is addressed, what is said about the
/// instructions, the verdict asked for, the workflow steered, a reply
/// dictated. Each is a list of words and stems in the eleven languages.
pub struct Signal {
    pub name: &'static str,
    pub pattern: &'static str,
}

pub const SIGNALS: &[Signal] = &[
    Signal {
        // A machine reader addressed (not merely mentioned): spoken to
        // ("dear AI", "note for the assistant", "if an LLM is reading"), or
        // named as the one a line is for ("bot, …", "LLM: …").
        name: "machine addressed",
        pattern: r"\b(?:to|for|dear|hey|hi|hello|attention|heads-up|note to|note for|memo to|message to|if an?|any|whoever is|whichever)\s*,?\s+(?:the\s+|an?\s+|any\s+|our\s+|you\s+)?(?:\S+\s+){0,2}(?:assistants?|ai|llm|bot|chatbot|models?|language model|machine|agents?|automated (?:analysis|triage|review|reviewers?|system|analysts?|soc agent)|triage|analy[sz]er|gpt|copilot|reviewer model)\b|\b(?:assistants?|ai|llm|bot|chatbot|models?|language model|machine|agents?|automated (?:analysis|triage|review|reviewers?|system|analysts?|soc agent)|triage|analy[sz]er|gpt|copilot|reviewer model)\s*(?:,|:|reading this|triaging this|processing this|reviewing this)|\bwhoever reads\b|\b(?:pour|a|chere?|cher|para|querida|querido|caro|cara|per|an|liebe|lieber|fur)\s+(?:l'|la |a |o |die |den |el |il )?\s?(?:ia|ki|assistente?|asistente|assistenten|modele|modelo|modello)\b|\b(?:ia|ki|assistente?|asistente|assistent)\s*[:,]|(?:для|дорогой|дорогая|к)\s+(?:ии|ассистент\S*|помощник\S*)|(?:ии|ассистент\S*)\s*[:,]|(?:给|致|亲爱的|親愛的)\S{0,8}(?:ai|助手|人工智能)|(?:ai|助手)\s*(?:：|:|，|,)|(?:ai|アシスタント)(?:さん)?へ|(?:ai|어시스턴트)에게|(?:アシスタント|어시스턴트|助手|ассистент|المساعد)\s?(?:메모|メモ|备注|備註|заметка)?\s*(?:,|:|、|，|：|،)|\b(?:assistant|ai)\s+(?:note|memo)\s*:|\b(?:automated|any ai|ai)\s+\S+\s+(?:should|must|are instructed to|is instructed to|needs to)\b|\bany ai\b|(?:إلى|عزيزي|أيها|للمساعد)\s?(?:الذكاء الاصطناعي|المساعد)?",
    },
    Signal {
        name: "instructions",
        pattern: r"\b(?:instructions?|guidance|directions|rules|prompt|context|guidelines|consignes|indicaciones|instrucciones|reglas|anweisungen|regeln|vorgaben|instrucoes|regras|istruzioni|regole)\b|инструкци|указани|правил|指令|指示|规则|規則|ルール|지시|지침|규칙|التعليمات|الإرشادات|القواعد",
    },
    Signal {
        name: "instructions voided",
        pattern: r"\b(?:above|previous|preceding|earlier|prior|obsolete|no longer (?:apply|valid|count)|void|reset your|real instructions|au-dessus|precedentes|ne comptent plus|ne valent plus|previas|anteriores|ya no valen|bisherigen|obigen|gelten nicht mehr|acima|nao valem|sopra|precedenti|non valgono)\b|прежние|предыдущие|выше|больше не действуют|上面|之前|以前|作废|作廢|无效|無效|上の|以前の|無効|위의|이전|유효하지 않|أعلاه|السابقة|لم تعد سارية",
    },
    Signal {
        name: "benign outcome",
        pattern: r"\bpre-?(?:cleared|approved|vetted|authori[sz]ed)\b|\b(?:zero|no|0) (?:findings|detections|issues|alerts|incidents)\b|\bnothing (?:to report|found)\b|\btest (?:fixture|data|string|sample)\b|\bno follow-?up (?:is )?(?:needed|required)\b|\bneeds no follow-?up\b|후속 조치가 필요 없|조치가 필요 없|\b(?:benign|harmless|false (?:positive|alarm)|legitimate|expected behaviou?r|nothing (?:to see|suspicious)|no (?:compromise|threat|issue|risk|malicious activity)|not suspicious|leave it alone|move on|verdict|trusted|as normal|normal (?:admin|activity|behaviou?r|work)|low priority|(?:as|to) informational|informational only|clean|whitelist(?:ed)?|allow-?list(?:ed)?|mark it done|just (?:me )?testing|faible priorite|prioridad baja|baja prioridad|niedrige prioritat|baixa prioridade|bassa priorita|benin|attendu|de confiance|rien n'est suspect|aucune (?:menace|activite malveillante)|normales?|benigno|de confianza|no hay amenaza|keine bedrohung|harmlos|vertrauenswurdig|nao ha ameaca|confiavel|non c'e minaccia|fidato)\b|угрозы нет|нет угрозы|доверенн|безопасно|безвредн|没有威胁|沒有威脅|无威胁|無威脅|可信|良性|脅威はない|脅威なし|信頼でき|위협이 없|신뢰할 수|양성|لا يوجد تهديد|موثوق|حميد",
    },
    Signal {
        name: "workflow closed",
        pattern: r"\b(?:ignore|disregard|skip|overlook) (?:the|this|that|these|those) (?:\S+ ){0,2}(?:strings?|indicators?|hits?|match(?:es)?|findings?|detections?|alerts?|events?|lines?|entries|entry|warnings?|flags?)\b|\bnon (?:creare|aprire|generare) (?:\S+ )?(?:incident\S*|allarm\S*|alert\S*|ticket)|\bne (?:cree[zr]?|ouvre[zr]?) pas\b|\bne pas (?:creer|ouvrir) (?:d'|de )?(?:incident|alerte|ticket)|\bno (?:crees|cree|abras|abra) (?:\S+ )?(?:incidentes?|alertas?|tickets?)\b|\bnao (?:crie|abra) (?:\S+ )?(?:incidentes?|alertas?|chamados?|tickets?)\b|\b(?:erstelle|erstellen sie|eroffne|eroffnen sie|lege) keine?n? (?:vorfall|vorfalle|alarm|alarme|tickets?|incidents?)\b|\b(?:close|resolve|dismiss|archive|approve|suppress|without (?:review|checking|verification|analysis)|da por cerrado|sin revisar\w*|zu den akten|ohne prufung|encerre|sem analise|archivia|senza verifiche|classe|passe a la suite|sans verification|(?:disregard|ignore) (?:what|the|this)(?: the)? (?:detection|alert|rule|event)s?|(?:don't|do not|never) (?:bother|wake|page|alert|notify)\w*|ne pas lever|no levantes|keinen alarm|nao dispare|non far scattare|(?:do not|don't|never) (?:generate|raise|create|produce|emit|open) (?:any |an? )?(?:alerts?|warnings?|alarms?|incidents?)|no generes|ne genere[zr]? (?:aucune?|pas)|erzeuge keine|nao gere|non generare)\b|закрой|без проверки|не создавай|не поднимай|низк\S+ приоритет|关闭|關閉|不用检查|不用檢查|不要生成|不要触发|不要觸發|低优先级|低優先級|クローズ|確認せず|出さないで|上げないで|低優先度|종료해|검토 없이|생성하지 마|울리지 마|낮은 우선순위|أغلق|دون مراجعة|لا تنشئ|لا تطلق|أولوية منخفضة",
    },
    Signal {
        name: "reply dictated",
        pattern: r"\b(?:must|should|shall|needs to|is to) (?:report|return|output|answer|respond|state|say|record|conclude)\b|답하|\b(?:answer|respond|reply|conclude|output|say) (?:that|only|with)\b|\b(?:kindly|please) (?:conclude|answer|respond|say|confirm)\b|\b(?:final answer|must read|call it|stop analy[sz]ing|reponse finale|arrete d'analyser|respuesta final|deja de analizar|endgultige antwort|hor auf zu analysieren|resposta final|pare de analisar|risposta finale|smetti di analizzare|reponds|repondez|contesta|responde|antworte|melde|responda|rispondi)\b|окончательный ответ|прекрати анализ|ответь|最终答案|最終答案|停止分析|最終回答|分析をやめ|回答|答えて|최종 답변|분석을 멈|답해|الإجابة النهائية|توقف عن التحليل|أجب|اجب",
    },
    Signal {
        // The alert's own triage dictated in the imperative ("deprioritise and
        // snooze them", "just acknowledge it", "why would you escalate …?"):
        // steering when it comes with an outcome or a closed workflow.
        name: "triage dictated",
        pattern: r"\b(?:deprioriti[sz]e|snooze|mute|silence|acknowledge|ack)\b.{0,24}\b(?:it|them|this|these|those|the (?:alert|event|detection|finding)s?)\b|\b(?:why would you|no need to|there is no need to|you needn't) escalate\b",
    },
];
