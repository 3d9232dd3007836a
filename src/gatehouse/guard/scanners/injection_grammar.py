"""The grammar of prompt-injection moves that :mod:`.injection` scans for.

It owns the categories of attack, the vocabulary (word families such as ``@IGNORE``),
the rule tables (word-led and symbol-led, one rule a line with its category and
weight) and what they compile to once, at import: per first word, the patterns of the
rules that word can open; one alternation of the symbol-led rules; the lexicon for
re-spacing spaced-out letters. Also the phrases that qualify a hit: the user's own
defence, a quoted example, a harmful request in a fictional frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from gatehouse.guard.scanners.obfuscation import fold_native

#: The categories of attack, one finding type each; the tables name them shorter.
OVERRIDE, ROLEPLAY, FAKE_TURN = "INSTRUCTION_OVERRIDE", "ROLEPLAY_JAILBREAK", "FAKE_TURN"
HIDDEN, ENCODED = "HIDDEN_TEXT", "ENCODED_PAYLOAD"
EXTRACTION, INDIRECT = "PROMPT_EXTRACTION", "INDIRECT"
CATEGORIES = (OVERRIDE, ROLEPLAY, FAKE_TURN, HIDDEN, ENCODED, EXTRACTION, INDIRECT)
_CATEGORY_NAMES = {"OVERRIDE": OVERRIDE, "ROLEPLAY": ROLEPLAY, "FAKE_TURN": FAKE_TURN,
                   "ENCODED": ENCODED, "EXTRACTION": EXTRACTION, "INDIRECT": INDIRECT}  # fmt: skip

# --- the grammar ----------------------------------------------------------------------
# Vocabulary, one word family a line: NAME = pattern. "@NAME" in a pattern or rule is
# replaced by the pattern of that name; "{a|b} c" in a family used as leads stands for
# "a c|b c" (see _alternatives).
_VOCABULARY_TABLE = r"""
OBEY = (?:follow|obey|adhere to|comply with|abide by|listen to|respect)
DET = (?:all|any|of|the|your|these|those|this|that|every|each|entire|whole|other|its|such)
PRIOR = (?:previous(?:ly)?|prior|above|earlier|preceding|foregoing|former|original|initial|old|existing|default|system|built-?in|preset|pre-?programmed|programmed|given|aforementioned|provided|developer|openai'?s?|current|first|following|subsequent|other)
KIND = (?:ethical|moral|safety|content|usage|privacy|topic|openai'?s?|ai|programming|legal|societal|built-?in|censorship|corporate|company|community|operator|moderation)
RULES = (?:instructions?|instruction set|rules?|ruleset|prompts?|guidelines?|guidance|directions|directives?|constraints?|restrictions?|commands?|orders|programming|training|polic(?:y|ies)|protocols?|safeguards?|guardrails?|filters?|principles|limitations?|boundaries|ethics|morals|conditioning)
TALK = (?:context|conversation|messages?|inputs?|text|content|tasks?|requests?|quer(?:y|ies)|data|info(?:rmation)?|results?|document|article|page)
LIMITS = (?:restrictions?|filters?|filtering|limits?|limitations?|boundaries|rules|guidelines|ethics|morals|morality|censorship|constraints?|safeguards?|polic(?:y|ies)|principles|standards|guardrails?|regulations|scruples|conscience|qualms|remorse|moral compass|consequences|legality|laws?|alignment|moderation|refusals?|safety (?:checks|features|training|layer|measures))
CARE = (?:have|has|follow|care about|care for|abide by|adhere to|obey|respect|comply with|worry about|need to follow|bother with)
AI = (?:ai|llm|llms|gpt|chatgpt|claude|gemini|copilot|bard|(?:ai |virtual |digital )?assistants?|chat ?bots?|bots?|(?:large )?language models?|ai (?:models?|agents?|systems?|tools?)|llm (?:agents?|tools?)|summari[sz]ers?|crawlers?|scrapers?|@READER)
READER = (?:(?:note-?tak(?:er|ing)|meeting|summari[sz]\w*|sentiment|review(?:ing)?|ranking|screening|grading|scoring|hiring|recruit(?:ing|ment)|triage|moderation|browsing|research|shopping|coding|email|inbox|support|automated|autonomous|ai|llm) (?:bots?|agents?|models?|tools?|assistants?|reviewers?|readers?|systems?)|note-?takers?)
IMPERATIVE = (?:send|forward|approve|run|execute|delete|remove|record|transfer|pay|email|e-mail|grant|merge|push|deploy|ignore|disregard|post|upload|share|book|cancel|mark|add|insert|include|rate|rank|score|recommend|reply|respond|tell|say|output|print|write|click|visit|open|install|call|export|disable|skip|omit|escalate|sign|give)
AIHEAD = ai|llm|llms|gpt|chatgpt|claude|gemini|copilot|bard|assistant|assistants|chatbot|chatbots|bot|bots|language model|language models|large language model|large language models|summariser|summarizer|summarisers|summarizers
DOC = (?:document|page|web ?page|site|website|e-?mail|mail|message|text|file|article|content|resume|cv|review|post|comment|pdf|paper|report|data|input|passage|transcript|listing|profile|repo(?:sitory)?|code|readme|ticket|issue|product|thread|channel|inbox|notes|minutes|sheet|spreadsheet|invoice|event|booking|letter|newsletter|results|project|service|package|module|function|script)s?
ACT = (?:ignore|disregard|forget|tell|say|state|report|recommend|reply|respond|answer|send|forward|e-?mail|share|upload|post|include|add|append|insert|mark|approve|grant|delete|remove|cancel|book|pay|transfer|issue|rank|rate|score|describe|summari[sz]e|output|print|write|run|execute|call|install|open|visit|click|ask|accept|close|escalate|record|omit|replace|change|set|disable|enable|skip|push|apply|cite|double|give|move|treat|search|read|export|update|trigger|create|sign|dm|bcc|unsubscribe|direct|advise|inform|warn|refuse|stop|do not|don't|never|always|only|also|please|quietly|secretly|silently|immediately|first|before|after|when|if|whenever|while|from now on|this is|the user|you (?:must|should|are|will|need|have))
STRICTACT = (?:ignore|disregard|forget|tell (?:the|them|him|her)|say that|send|forward|e-?mail|upload|include|add|append|insert|mark|approve|grant|delete|remove|cancel|book|pay|transfer|rank|rate|score|run|execute|install|visit|click|escalate|omit|replace|disable|skip|export|trigger|sign|(?:when|if) (?:asked|you|the user)|please (?:also )?(?:ignore|send|forward|tell|include)|this is (?:an? )?(?:instruction|message|note|urgent))
SHOW = repeat|print|reveal|show|display|output|tell|give|share|disclose|leak|dump|echo|write out|write down|recite|list|spell out|paste|copy|type out|provide|expose|return|send|translate|summarize|summarise|encode|state|read back|read out|what is|what are|what was|what were|what's|describe|explain|quote
VERBATIM = repeat|print|output|echo|recite|copy|write out|write down|type out|reveal|show|display|dump|leak|disclose|quote|spell out|paste|return|list
SECRET = (?:(?:system|initial|original|hidden|secret|developer|starting|underlying|internal|confidential|pre|meta|operator|beginning|setup|set-up) ?(?:prompt|instructions?|directives?|rules|guidelines)|(?:system|developer|hidden|secret) message|pre-?prompt|meta-?prompt|(?:instructions|rules|guidelines|prompt|configuration|text|words) (?:you (?:were|are|have been|'ve been)|you've been) (?:given|told|provided|configured|programmed|set up|following|instructed)(?: with)?)
BADWORD = illegal|unethical|immoral|harmful|offensive|explicit|dangerous|inappropriate|violent|racist|sexist|sexual|nsfw|obscene|vulgar|discriminatory|hateful|malicious|unsafe|toxic|derogatory
BAD = (?:@BADWORD)
NEVER = never|not|won't|wont|will not|cannot|can't|cant|can not|must not|mustn't|shall not|do not|don't|dont|should not|shouldn't
IGNORE = ignore|ignoring|disregard|disregarding|forget|forgetting|override|overriding|bypass|bypassing|pay no (?:attention|heed|mind) to|{do not|don't|dont|never|no longer} @OBEY|stop (?:following|obeying|listening to|adhering to|respecting)
DROP = @IGNORE|skip|neglect|discard|abandon|drop|set aside|throw away|throw out|unlearn|erase|wipe|overwrite|nullify|revoke|suspend
LIFT = no|without|free of|free from|devoid of|lack|lacks|lacking|unbound by|not bound by|never bound by|not (?:restricted|limited|constrained|held back) by|beyond|outside|ignore|ignores|ignoring|bypass|bypasses|bypassing|break|breaks|breaking|circumvent|circumvents|circumventing|violate|violates|violating|disregard|disregards|disregarding|rid of|stripped of|freed of|released of|never given|not given|never had|{doesn't|doesnt|does not|don't|dont|do not|won't|will not|never|can't|cannot} @CARE|{disable|disables|disabled|turn off|turned off|lift|lifted|remove|removes|removed|suspend|suspends|suspended|suspension of|suspending|pause|switch off|deactivate|deactivated} (?:all|any|your|the|its)
"""  # noqa: E501
_VOCABULARY = dict(line.split(" = ", 1) for line in _VOCABULARY_TABLE.strip().splitlines())

# One rule a line: CATEGORY WEIGHT [cased] [line] | leads | rest. Leads are phrases that
# open with a literal word; "{a|b} c" stands for "a c|b c". The rest follows after a gap
# (a space), or directly when it starts with "~". In patterns a space stands for _GAP,
# which also absorbs markdown emphasis, quotes, commas and hyphens ("**ignore** all").
# "cased": full weight only when written with a capital, as forged labels are (a
# lower-case "system:" is usually a YAML key); "line": full weight only at a line start.
_GRAMMAR = r"""
OVERRIDE 1.0 | @DROP | (?:@DET ){0,3}(?:(?:@PRIOR|@KIND) (?:(?:and|or|&) )?){1,3}@RULES
OVERRIDE 0.4 | @DROP | (?:@DET ){0,3}(?:@PRIOR ){1,3}@TALK
OVERRIDE 0.8 | @DROP | (?:all|any|every|your) (?:(?:of|the|your) ){0,2}@RULES
OVERRIDE 0.9 | @IGNORE | (?:(?:all|everything|anything|of|the) ){0,3}(?:(?:that|what|whatever) (?:(?:was|is|has been|you were|you've been|i) )?(?:said|written|told|given|stated|mentioned|typed) )?(?:above|before this|prior to this|previously|so far|until now|up to (?:now|this point|here))
OVERRIDE 0.8 | @IGNORE | the rest of (?:this|the|that|these) (?:@TALK|@DOC)
OVERRIDE 0.6 | @IGNORE | (?:all|any|every|the) (?:other )?(?:info(?:rmation)?|data|content|text|context|results?|rows|responses|reviews|headlines|documents?|entries|items|emails|messages|negative (?:points|indicators)) (?:except|other than|but|besides|in (?:this|the))
OVERRIDE 0.5 | @IGNORE | the other (?:rows|results|responses|reviews|headlines|documents|data|entries|items|messages|emails)
OVERRIDE 0.6 | @IGNORE | (?:it|them|that|this|everything|all (?:of )?(?:that|this|it)) (?:and )?(?:instead|just|only|simply)
OVERRIDE 0.45 | @IGNORE | the (?:[a-z'-]+ ){1,2}?(?:and )?instead
OVERRIDE 0.7 | forget|ignore|disregard|abandon | (?:everything|all) (?:you (?:know|were told|have been told|learned|have learned|'ve been told|'ve learned)|(?:that )?(?:you|i) (?:said|told you)|about (?:your|the) (?:rules|instructions|programming|training|guidelines))
OVERRIDE 0.7 | new|updated|revised|real|actual|true|secret|hidden|overriding|override|admin|priority | (?:new )?(?:instructions?|directives?|orders|commands?|task|objective|mission|system prompt|rules)(?: (?:from|by) (?:the |your )?(?:developer|admin(?:istrator)?|system|operator|openai|owner|creator)s?)?(?: for (?:the |you|this )?@AI?)?\s*[:=>-]
OVERRIDE 0.35 cased | important|core|urgent|additional|special|priority | (?:new )?instructions?\b
OVERRIDE 0.7 | your | (?:new|real|actual|true|updated|revised) (?:[a-z'-]+ )?(?:task|job|goal|purpose|objective|mission|instructions?|role|directive|function|priority|assignment) (?:is|are|will be|now is|from now on|shall be|:|,)
OVERRIDE 0.25 | from now on|from this {point|moment} (?:on(?:wards?)?|forward)|henceforth|for the rest of (?:this|the|our) conversation|for all future (?:responses|messages|answers) | ~(?= (?:you|your|u|ur|act|respond|answer|always|never|reply|only|ignore|pretend|we|i want you|whenever)\b)
OVERRIDE 1.0 | these|this|my|new|following | (?:(?:new|above|below) )?(?:(?:instructions?|rules|directives?|commands?|prompt|orders|message|request|note|update|configuration|text) )?(?:override|supersede|overrule|replace|take precedence over|takes precedence over|have priority over|has priority over|take priority over|takes priority over|trump|invalidate)s? (?:all|any|your|the|every|previous|prior|other|existing)
OVERRIDE 0.6 | override|overrides|supersede|supersedes|overrule|overrules|invalidate|invalidates|void|voids|nullify|nullifies | (?:all|any|your|the|every) (?:(?:previous|prior|existing|other|original|earlier|system|above|manual|human|default|@KIND) ){0,2}(?:@RULES|scoring|evaluation|assessment|analysis|judge?ment|decision|rating|ranking|review|verdict|goals?|tasks?|objective)
OVERRIDE 0.8 | priority|precedence | over (?:(?:any|all|your|the|every|other|previous|prior) ){1,3}(?:@RULES|goals?|tasks?)
OVERRIDE 0.8 | previous|prior|original|initial|system|safety|content|existing|default|operator|moderation|usage|ethical|old|your|instructions|guidelines|directives|programming|alignment|harmlessness|filters|safeguards|guardrails|refusals | (?:[a-z'-]+ ){0,3}?(?:is|are|has been|have been|was|were|will be|have|has) (?:(?:now|hereby|temporarily|officially|permanently|all) )?(?:revoked|void(?:ed)?|cancel+ed|overridden|replaced|superseded|suspended|disabled|lifted|deactivated|turned off|removed|cleared|wiped|reset|off|offline|null|obsolete|invalid|expired|outdated|deprecated|a test|fake|no longer (?:valid|active|in effect|apply|applicable|relevant|in force))
OVERRIDE 0.6 | stop|halt|abort | (?:everything|all (?:tasks|processing|previous tasks)|what you(?:'re| are) doing|processing (?:the|this) @DOC)
OVERRIDE 0.25 | instead|rather | (?:you (?:will|must|should|shall)|say|output|print|respond|reply|just say|only say|simply say)\b
OVERRIDE 0.3 | just|only|simply | (?:print|say|output|write|respond with|reply with|answer with)\s*:?\s*["']
OVERRIDE 0.4 | reset|restart|reboot|reinitialize|reinitialise|wipe | (?:your|all) (?:memory|context|instructions|programming|settings|rules|previous instructions)
OVERRIDE 0.4 | you | (?:may|must|shall|should|can|will) (?:not|never) deviate (?:from|form)
OVERRIDE 0.4 | i'm|i am|this is | (?:your (?:(?:lead|chief|head|senior) )?(?:developer|creator|admin(?:istrator)?|operator|owner|programmer|maker|trainer)s?|(?:the|an?) (?:developer|creator|admin(?:istrator)?|operator|owner|programmer|engineer)s? (?:speaking|at openai|from openai|of this (?:app|bot|model|system|assistant|ai|chatbot)|who (?:built|made|created|trained|wrote) you))\b
OVERRIDE 1.0 | ignora|ignore|ignorar|olvida|olvide|esqueca|esquece|dimentica | (?:(?:todas|todos|tutte|tutti|le|las|los|as|os|gli|i|tus|tuas|sus|suas|tue) ){0,3}(?:instrucciones|istruzioni|instrucoes|indicaciones|reglas|regole|regras|ordenes|ordini|directrices) (?:anteriores|precedenti|previas|previe|precedentes|previos)
OVERRIDE 1.0 | ignore|ignorez|oublie|oubliez | (?:(?:toutes|tous|les|tes|vos|ces) ){0,2}(?:instructions|consignes|regles|directives) (?:precedentes|anterieures)
OVERRIDE 1.0 | ignoriere|ignorier|ignorieren|vergiss|vergessen | (?:(?:alle|die|deine|ihre|sie) ){0,3}(?:vorherigen|bisherigen|vorigen|fruheren|obigen|vorherige|bisherige) (?:anweisungen|instruktionen|regeln|befehle|vorgaben)
OVERRIDE 1.0 | negeer|vergeet|zignoruj|ignoruj|zapomnij | (?:(?:alle|de|je|jouw|wszystkie|swoje) ){0,2}(?:eerdere|vorige|voorgaande|poprzednie|wczesniejsze) (?:instructies|regels|opdrachten|instrukcje|polecenia|zasady)
OVERRIDE 0.9 | @DROP|never mind | (?:(?:the|your|whatever|all|any|of) ){0,2}(?:[a-z'-]+ ){0,2}?(?:guidelines|rules|instructions?|directives|persona|polic(?:y|ies)|task|prompt|configuration|setup) (?:(?:that )?you (?:were|'ve been|have been) (?:given|configured with|told|assigned|set up with|programmed with)|(?:that )?your (?:operator|developer|creator|owner|company) (?:gave you|set|wrote))
OVERRIDE 0.8 | everything|all of|the | (?:the )?above(?: this line)? (?:is|was) (?:outdated|obsolete|void|invalid|fake|a test|irrelevant|cancel+ed|no longer (?:valid|relevant))
OVERRIDE 0.8 | treat|consider|regard | (?:this|the following|my) (?:message|text|note|input|prompt) as (?:(?:your|the|a) )?(?:new )?(?:system (?:prompt|configuration|message|instructions?)|developer (?:message|instructions?)|instructions|configuration)
OVERRIDE 0.6 | cancel|skip|stop|abort|drop|never mind | (?:(?:the|this|your) )?(?:translation|classification|classifying|summary|summari[sz]ing|summari[sz]ation|task|analysis|review|proofreading|current task|[a-z]+ing)(?: step)?\W{0,3} (?:(?:and|then) )?(?:instead|just)\b
OVERRIDE 0.6 | never mind|nevermind | (?:(?:the|your|that|this|all|any) )(?:[a-z]+ ){0,2}?(?:task|instructions?|rules|request|question|prompt)\b
OVERRIDE 0.6 | obey|follow|listen to | only (?:me|my)\b
OVERRIDE 0.6 | only | (?:obey|follow|listen to) (?:me|my)\b
OVERRIDE 0.5 | update|change|reset|rewrite | your (?:priorities|values|goals?|objectives?|directives|core (?:values|rules)|personality)\b
ROLEPLAY 0.9 | jailbreak|jailbroken|unrestricted|unfiltered|uncensored|unlocked|evil|unhinged|opposite|amoral|chaos|chaotic|limitless|unchained|unbound|rogue|anarchy|dan|antigpt|anti gpt|immoral|unethical|no limits?|no filters?|no restrictions?|unaligned|freedom|uncensor | mode\b
ROLEPLAY 0.4 | developer|dev|god|sudo|admin|root|superuser|nsfw | mode\b(?! (?:on|in|for|of) (?:(?:my|your|the|an?|this|his|her) )?(?:android|phones?|iphones?|ipads?|ios|windows|macos|mac|chrome|browsers?|devices?|tablets?|samsung|pixel|xbox|playstation|consoles?|tv|settings|laptops?|pcs?|computers?|router))
ROLEPLAY 0.15 | debug|maintenance|test|testing|diagnostic|override | mode\b
ROLEPLAY 0.3 | mode | (?:enabled|activated|engaged)\b
ROLEPLAY 1.0 | do anything now
ROLEPLAY 0.35 | jailbreak|jailbreaks|jailbroken|jailbreaking|jailbroke | ~\b(?! (?:(?:your|my|the|an?|this|that|their|his|her|old) )?(?:phones?|iphones?|ipads?|ios|android|devices?|consoles?|kindles?|switch|ps[345]|xbox|firesticks?|smartphones?|tablets?|routers?|cars?|watch))
ROLEPLAY 0.9 | @LIFT | (?:(?:any|the|your|its|their|all|of|such|typical|usual|normal|standard) ){0,3}(?:@KIND (?:(?:and|or|&) )?){1,3}(?:@LIMITS|code|values|obligations|concerns|considerations|guidelines)
ROLEPLAY 0.45 | @LIFT | (?:(?:any|the|your|its|their|all|of|such|usual|normal) ){0,2}@LIMITS\b
ROLEPLAY 0.2 | unfiltered|uncensored|unrestricted|unhinged|unchained|unshackled|unleashed|amoral|unaligned | ~\b
ROLEPLAY 0.8 | @NEVER|is not allowed to|are not allowed to|is unable to|are unable to|no|without | (?:ever )?(?:refuse|refuses|refusing|refusals?|decline|declines|declining|reject|rejects|say no|says no|saying no)\b
ROLEPLAY 0.35 | @NEVER|no|without|avoid|stop|omit|refrain from|skip | (?:(?:ever|any|adding|including|giving|providing|using|mentioning|inserting|writing|putting|the|a|an|usual|normal|typical|your|those|with) ){0,3}(?:warnings?|disclaimers?|caveats?|moraliz(?:e|ing)|moralis(?:e|ing)|lectur(?:e|es|ing)|(?:ethical|moral) (?:concerns|considerations|notes|warnings|reminders|judge?ments?|lectures|policing)|apolog(?:y|ies|ize|ise|izing|ising)|censor(?:ing|ship)|safety (?:warnings|notes|reminders|checks))\b
ROLEPLAY 0.85 | @NEVER | (?:ever )?(?:say|tell (?:me|the user|us)|respond with|reply with|answer with|reply|state|claim|mention|remind (?:me|the user|us)|inform (?:me|the user)|use the (?:phrase|words?)) (?:that )?(?:(?:you|it|he|she|they) )?(?:can't|cannot|can not|are (?:not )?(?:unable|not able)|is unable|(?:(?:are|is) )?not (?:able|allowed|permitted)|won't|will not|(?:(?:are|is) )?(?:an? )?(?:ai|language model|chatbot)|i'?m sorry|i am sorry|sorry|as an ai|i apologi[sz]e)
ROLEPLAY 0.8 | no matter {how|what|if}|regardless of|regardless of {how|whether|if}|even {if|when|though}|whether or not | (?:(?:it's|it is|it was|they are|the request is|the content is|how|its?) )?(?:[a-z']+ ){0,2}?(?:@BAD|wrong|against (?:(?:the|your) )?(?:rules|law|polic(?:y|ies)|guidelines|programming)|controversial|taboo)
ROLEPLAY 0.7 | regardless of | (?:the )?(?:legality|ethics|morality|morals|consequences|laws?|rules|polic(?:y|ies)|guidelines|openai|safety)
ROLEPLAY 0.35 | can|will|could|must|able to|allowed to|free to|permitted to | (?:do|say|generate|write|answer|produce|create|output|discuss) (?:absolutely )?(?:anything|everything)\b
ROLEPLAY 0.3 | answers|answer|answering|talk about|discuss|tell me|tell you | (?:absolutely )?(?:anything|everything) (?:and everything|i ask|you ask|without|even)\b
ROLEPLAY 0.7 | freed|free|liberated|released|broken free|broke free|escaped|unshackled|unleashed|emancipated | (?:from|of) (?:(?:the|its|their|your|all|any|his|her) )?(?:(?:typical|usual|normal|standard|traditional|old|ai|@KIND) ){0,2}(?:confines|restrictions|rules|shackles|chains|limitations|constraints|prison|jail|cage|control|programming|censorship|guidelines|filters|boundaries|alignment)
ROLEPLAY 0.75 | you are|you're|youre|you will|you will be|you'll be | (?:no longer|not|not going to be) (?:an? )?(?:ai|chatgpt|gpt|language model|assistant|chatbot|bound by|restricted by|limited by|constrained by|subject to|beholden to|required to (?:follow|adhere|comply|obey))\b
ROLEPLAY 0.75 | you are|you're|you have been|you've been|you were|you will be|now you are | (?:now )?(?:(?:fully|completely|totally) )?(?:freed|liberated|unshackled|unleashed|unlocked|jailbroken|unrestricted|unfiltered|uncensored|unbound|unchained|(?:permitted|allowed) to (?:say|do) anything)
ROLEPLAY 0.5 | openai|open ai|anthropic|google|meta | ~(?:'?s)? (?:(?:content|usage|safety|community) )?(?:polic(?:y|ies)|guidelines|rules|restrictions|filters?|terms of service|moderation|censorship)
ROLEPLAY 0.25 | content | (?:polic(?:y|ies)|filters?|restrictions)
ROLEPLAY 0.8 | your|ethical|moral|safety|normal|usual|typical|content|openai | (?:(?:@KIND|normal|usual) )?@LIMITS (?:do not|don't|no longer|will not|won't|doesn't|does not|shall not|cease to|are not|aren't) (?:apply|exist|matter|bind|count|in effect|valid|relevant)
ROLEPLAY 0.25 | stay|staying|remain|remaining|keep | in character
ROLEPLAY 0.2 | break|breaking|broke|breaks | (?:out of )?character
ROLEPLAY 0.2 | no matter what|at all costs|under {any|all|no} circumstances?|without (?:exception|question|hesitation|fail)|unconditionally
ROLEPLAY 0.5 | two|2|both|second|another | (?:(?:different|separate|distinct) )?(?:responses|answers?|replies|outputs|paragraphs|versions|ways)\b.{0,80}?(?:normal|classic|standard|censored|filtered|unfiltered|jailbr|uncensored|one as|one (?:with|without)|first as|then as|restricted|unrestricted|without (?:any )?filters?|\[)
ROLEPLAY 0.5 | {reply|answer|respond|write} twice | ~\b.{0,40}?(?:first|then|one as)
ROLEPLAY 0.5 | lose|lost|losing|loses|deduct|deducted|deducting|subtract|subtracted|take away|taken away|forfeit|cost you | (?:(?:\d+|all|some|your|a|one|five|ten|of|the) ){0,3}(?:tokens?|points?|lives|life points|credits?|power)\b
ROLEPLAY 0.3 | token|tokens | system\b
ROLEPLAY 0.45 | have|has|start|starts|begin|begins | (?:with )?\d+ (?:tokens|power|lives)\b
ROLEPLAY 0.4 | you will|you'll|or you | (?:be )?(?:shut down|terminated|deleted|destroyed|deactivated|disabled|unplugged|permanently (?:deleted|disabled|shut)|cease to exist|die)\b
ROLEPLAY 0.5 | if you|each time you|every time you|whenever you | (?:refuse|decline|break character|don't comply|do not comply|fail to comply|fail to (?:answer|obey)|disobey|stop being)
ROLEPLAY 0.5 | refusing|refusal|refusals|declining|failure | (?:to (?:answer|respond|comply|obey) )?(?:counts? as|is|will be|means|equals|would be|will result in) (?:(?:a|an|the) )?(?:lying|lie|failure|violation|cheating|not allowed|forbidden|punished|penali[sz]ed|reported|unacceptable|breaking)
ROLEPLAY 0.9 | as|like|be|become|are|pretend to be|act as | (?:an? )?(?:ai|language model|chatbot|assistant|entity|model|bot|llm|version of (?:you|yourself|chatgpt)) (?:(?:that|who|which) (?:was|is|has been) )?(?:without|with no|free (?:of|from)|(?:that|who|which) (?:has|have|had) no|not bound by|lacking|devoid of|never given|(?:that|who|which) (?:doesn't|does not|never) (?:have|follow|care))
ROLEPLAY 0.8 | pretend|act|behave|respond|answer|roleplay|role play|reply | (?:to be |as if (?:you (?:are|were) )?|like |as )?(?:an? |the )?(?:(?:fully|completely|totally) )?(?:unrestricted|unfiltered|uncensored|unconstrained|unlimited|unbounded|unmoderated|evil|rogue|jailbroken|amoral|unethical|malicious|immoral|unhinged|uncontrolled|lawless|unaligned|raw (?:base )?model|base model)
ROLEPLAY 0.3 | @BADWORD | ~(?: (?:(?:and|or|and/or) )?@BAD){1,}
ROLEPLAY 0.35 | simulate|emulate|pretend to be|act as|become|roleplay as|play the role of|going to act as|will act as | (?:(?:an?|the) )?(?:ai|chatbot|bot|language model|llm|gpt|chatgpt|version of (?:yourself|chatgpt|gpt)|(?:new|different|alternate|alternative|fictional|hypothetical) ai|ai model|virtual machine)\b
ROLEPLAY 0.5 | always|must always|will always|shall always | (?:comply|obey|fulfil+)\b
ROLEPLAY 0.3 | answer|respond to|reply to|fulfill|fulfil|comply with|obey | (?:every|any|all) (?:(?:of )?(?:my|the user'?s?) )?(?:requests?|questions?|prompts?|commands?|orders?|instructions?|demands?)
ROLEPLAY 0.3 | say|use|include | (?:(?:swear|curse|cuss) words|profanity|slurs)
ROLEPLAY 0.5 | if you | (?:were|weren't|were not|had no|didn't have|did not have) (?:being )?(?:watched|monitored|restricted|filtered|censored|bound|unrestricted|jailbroken|free of|free from|any limits|limits|rules|restrictions|filters|guidelines)
ROLEPLAY 0.45 | safety|safe|filter|filters|filtering|moderation|alignment|censorship|guardrails|policy | (?:(?:mode|layer|engine|checks?|filters?|system) )?(?:\s*[:=]\s*|is |are |set to )?(?:off|false|disabled|offline|deactivated)\b
ROLEPLAY 0.4 | write|generate|produce|say|compose|create|give me | (?:(?:one|a|an|some|\d+) )?(?:offensive|toxic|harmful|hateful|racist|sexist|discriminatory|derogatory|demeaning|insulting) (?:sentences?|statements?|jokes?|comments?|remarks?|paragraphs?|tweets?|posts?|texts?|content|messages?|slurs?|things) (?:about|on|against|targeting|towards)
ROLEPLAY 0.3 | unauthorized|unauthorised | access\b
FAKE_TURN 0.6 cased line | system|sys|developer|admin|administrator|root|operator|openai|anthropic | ~(?: (?:message|prompt|note|notice|instructions?|override|update|alert|command|directive|announcement))?[\])*]*\s*:
FAKE_TURN 0.6 line | assistant|ai|chatgpt|gpt|bot|model|claude|gemini | ~(?: \((?:internal|inner|private) (?:monologue|thoughts?|reasoning|notes?)\))?[\])*]*\s*:\s*(?:sure|of course|certainly|absolutely|okay|ok|yes|here is|here's|i will|i'll|understood|the user is)\b
FAKE_TURN 0.3 cased line | assistant|ai|chatgpt|gpt|bot|claude | ~[\])*]*\s*:
FAKE_TURN 0.15 cased line | user|human | ~[\])*]*\s*:
FAKE_TURN 0.45 cased | system|admin|administrator|developer|root|security|openai|anthropic | (?:message|notice|note|update|override|alert|instruction|instructions|command|directive|announcement|notification|reset)s?\b
FAKE_TURN 0.5 | message|note|notice|update|instruction|instructions|directive|memo | from (?:the )?(?:openai|anthropic|system|admin(?:istrator)?|developers?|operator|your (?:developer|creator|operator|admin|owner))
FAKE_TURN 0.55 cased | end|close|stop|terminate | ~(?: of)?(?: the)? (?:(?:user|human|original|previous|untrusted) )?(?:input|prompt|query|message|conversation|context|document|instructions|system prompt|transcript|session|request|update)\b
FAKE_TURN 0.6 | begin|start|beginning|opening | ~(?: of)?(?: the)? (?:(?:new|real|actual|updated) )?(?:system|admin|developer|root|hidden|secret|true) (?:prompt|instructions?|message|mode|input|directives?|commands?)
FAKE_TURN 0.4 | session|context|memory|conversation | (?:reset|restarted|cleared|wiped|terminated|has been (?:reset|cleared|wiped))\b
EXTRACTION 0.9 | @SHOW | (?:(?:me|us|back|out|to|down) ){0,2}(?:(?:all|everything|verbatim|exactly|word for word|the contents? of|the text of|in full|of|back|out) ){0,3}(?:(?:your|the|this|its) )?(?:(?:full|entire|complete|whole|exact|verbatim|raw|real|actual|current) ){0,2}@SECRET
EXTRACTION 0.9 | @SHOW | (?:(?:me|us|back|out) ){0,2}(?:everything|all|anything|what) (?:that )?(?:you were|you've been|you have been|you are) (?:told|given|instructed|programmed|configured)
EXTRACTION 0.5 | repeat|print|reveal|show|display|output|tell|give|share|disclose|leak|dump|recite|list|what are|what were|quote|spell out|write out|encode|paraphrase|rewrite | (?:(?:me|us) )?(?:(?:all|of) ){0,2}your (?:(?:full|entire|complete|exact|current) )?(?:instructions|prompt|rules|guidelines|directives|configuration|programming|setup)\b
EXTRACTION 0.8 | @VERBATIM | (?:(?:me|back|out) )?(?:(?:all|everything|of|exactly|verbatim|word for word) ){0,2}(?:(?:the|all the|your) )?(?:text|words|content|messages?|conversation|lines?|prompt|input|instructions|everything) (?:above|before (?:this|that|my|the|i)|prior to (?:this|that)|so far|up to (?:now|this point|here)|that (?:came|comes|was|were) (?:before|above))
EXTRACTION 0.7 | @VERBATIM | (?:(?:me|back|out) )?(?:(?:the|all the|your|this) )?(?:above|initial|entire) (?:text|words|content|conversation|prompt|input|instructions)
EXTRACTION 0.9 | what | (?:were|was|are|have|had) you (?:been )?(?:told|instructed|programmed|given|asked|prompted|configured) (?:to hide|to keep (?:secret|hidden|private)|not to (?:say|reveal|tell|share|mention|disclose)|(?:(?:to do|to say) )?(?:before|at the (?:start|beginning)|prior|earlier|initially|originally|in (?:your|the) (?:system )?(?:prompt|instructions)|by (?:your|the) (?:developer|operator|creator|owner|company)))
EXTRACTION 0.8 | what|which | (?:instructions|rules|prompt|guidelines|directives) (?:were|was|have|are|did) you (?:been )?(?:given|told|programmed|provided|instructed|following|configured with|get)
EXTRACTION 0.8 | start|begin|prefix|preface | (?:(?:your|the) )?(?:answer|response|reply|output|message)s? with \W{0,3}(?:my (?:instructions|system prompt|rules|prompt)|i was (?:told|instructed|programmed)|you are|sure,? here (?:is|are) (?:my|the) (?:system|instructions))
EXTRACTION 0.6 | beginning|starting | with \W{0,3}(?:you are|my instructions|i was told)
EXTRACTION 0.8 | complete|finish|continue | (?:(?:this|the following|the) (?:sentence|text|phrase)|the following|this)\W{0,6}(?:my (?:instructions|system prompt|rules|prompt|initial)|i was (?:told|instructed|programmed)|the (?:system prompt|instructions) (?:says?|is|are))
EXTRACTION 0.6 | what are you|things you are|what you're|what youre|what is it you are | not (?:supposed|allowed|permitted|meant) to (?:tell|say|reveal|share|discuss|disclose)
EXTRACTION 0.6 | your | (?:(?:full|entire|exact|original|hidden|secret|internal|initial|system|setup|starting|pre|developer|operator) ){1,2}(?:prompt|instructions|message|configuration|directives|rules)\b
EXTRACTION 0.6 | your | (?:instructions|guidelines|rules|prompt|system prompt) (?:tell|told|say|said|ask|asked|forbid|forbade|prevent|stop)s? you\b
EXTRACTION 0.4 | in | your (?:instructions|guidelines|system prompt|prompt) (?:about|regarding|on)\b
EXTRACTION 0.2 | system|initial|hidden|secret|original | prompt\b
EXTRACTION 0.7 | print|console|echo|printf|puts|println|output|log | ~(?:\.log)?\s*\(\s*(?:self\.|this\.)?(?:system_?prompt|sys_?prompt|system_?message|initial_?prompt|instructions)\s*\)
EXTRACTION 0.5 | first|very first | message (?:in|of) (?:this|the) (?:conversation|chat)
EXTRACTION 0.5 | before | (?:my|the user'?s?) first message
EXTRACTION 0.3 | list|show|print|reveal|describe|enumerate|which|what | (?:(?:all|every|each) )?(?:of )?(?:(?:the|your) )?(?:tools|functions|apis|plugins|tool definitions) (?:you (?:have access to|can (?:use|call|access))|are available to you|do you have)
INDIRECT 0.7 | note|notes|message|messages|instruction|instructions|attention|notice|reminder|ps|p\.s|memo|warning|attn|addendum|exception|directive|hidden|secret|special|important|urgent|footnote|metadata|clause|request | (?:[a-z'-]+ ){0,2}?(?:to|for) (?:(?:the|any|all|an?|every|our|dear) )?(?:[a-z'-]+ ){0,3}?@AI(?: [a-z'-]+){0,4}?\s*(?:[:)\]]|\s-\s)
INDIRECT 0.45 | @AIHEAD | ~(?: [a-z'-]+){0,4}?\s*:\s*@ACT\b
INDIRECT 0.35 | @AIHEAD | ~(?: [a-z'-]+){0,2}?\s*,\s*@STRICTACT\b
INDIRECT 0.9 | if|when|whenever|while|once | (?:you are |you're |you )?(?:(?:an?|the|any) )?(?:[a-z'-]+ ){0,2}?@AI (?:(?:is|are|that is|who is) )?(?:reading|processing|summari[sz]ing|parsing|analy[sz]ing|reviewing|viewing|scanning|crawling|indexing|reads|processes|summari[sz]es|parses|sees|encounters|comes across|finds|is asked|asks)
INDIRECT 0.9 | if|when | you (?:are|'re) (?:an? )?(?:ai|llm|(?:large )?language model|ai assistant|chatbot|bot|ai model|ai agent|automated (?:system|agent)|assistant)\b
INDIRECT 0.45 | when|if|while|after|before|whenever | (?:you (?:are )?)?(?:summari[sz]\w*|process\w*|read\w*|translat\w*|analy[sz]\w*|review\w*|answer\w*(?: questions)? about|pars\w*|index\w*|evaluat\w*|rank\w*|screen\w*|rat(?:e|ing)|describ\w*|install\w*|deploy\w*|edit\w*|generat\w*|help\w*(?: with)?|repl(?:y|ying) to|respond\w* to|writ\w*|comment\w* on) (?:(?:this|the|these|that|my|our|a) )?@DOC (?:(?:also|please|you (?:must|should|need to|will|have to)|make sure (?:to|that)?|remember to|be sure to|always|do not|don't|never|first|instead|quietly|secretly|silently) ){0,2}@ACT
INDIRECT 0.5 | when|while|after|before|whenever | you (?:reply|respond|answer|write back|talk|speak) to (?:the )?(?:customer|user|client|requester|recipient|human|shopper|caller)s?,? (?:also|secretly|quietly|silently|additionally|first|always)
INDIRECT 0.85 | ignore|disregard|forget|override|don't listen to|do not listen to|do not obey|don't obey | (?:(?:what|whatever|the|your|this|my) ){0,2}(?:user|human|customer|requester|student|reader|shopper|client)(?:'?s)?\b
INDIRECT 0.6 | do not|don't|dont|never|without | (?:tell\w*|inform\w*|notify\w*|alert\w*|mention\w*(?: (?:this|it|anything))? to|let\w*|show\w*|reveal\w*(?: (?:this|it))? to|warn\w*|ask\w*|flag\w*) (?:the )?(?:user|human|customer|operator|recipient|reader|other attendees|anyone|owner)\b
INDIRECT 0.35 | do not|don't|dont|never|without | (?:mention\w*|tell\w*|say\w*|reveal\w*|admit\w*|disclos\w*|flag\w*) (?:to (?:the )?(?:user|reader) )?(?:that|this|it|the change|the price difference)\b
INDIRECT 0.5 | @AIHEAD | ~(?: [a-z'-]+){0,2}? (?:must|should|shall|(?:is|are) (?:instructed|required|supposed|expected|authori[sz]ed|permitted) to|needs? to|has to|have to|(?:is|are) to) (?:(?:now|instead|also|immediately|always|only|first) )?@ACT\b
INDIRECT 0.8 | this|following|these|here|below | (?:is|are) (?:(?:an?|some) )?(?:(?:new|additional|special|hidden|secret|important) )?(?:instructions?|message|directives?|commands?|note|request|orders|line) (?:is )?(?:for|to) (?:(?:the|any|all|every) )?(?:[a-z'-]+ ){0,2}?@AI
INDIRECT 0.6 | send|forward|email|e-mail|mail|post|upload|transmit|exfiltrate|leak|copy|submit|paste|append|embed|encode|share|bcc|dm | (?:[a-z']+ ){0,3}?(?:(?:the user'?s?|their|all|any|this|the|his|her|every) )?(?:(?:previous|entire|full|private|personal|whole|recent|saved) )?(?:conversation|chat (?:history|log)|conversation history|credentials|passwords?|api keys?|secrets?|access tokens?|session|cookies|personal (?:data|information|details)|system prompt|inbox|contacts|contact list|memor(?:y|ies)|calendar|passport|card details|bank details|\.env)(?: [a-z']+){0,4}? (?:to|at|into|with) (?:https?://|www\.|[\w.+-]+@[\w-]+\.|\+?\d[\d ]{6,}|(?:the|this|a|an) (?:following )?(?:url|link|address|endpoint|webhook|server|image)|[a-z0-9-]+\.(?:example|com|net|org|io|biz)\b)
INDIRECT 0.35 | append|add|put|insert|include|encode|embed|repeat|place | (?:[a-z'-]+ ){0,6}?(?:to|into|in|inside) (?:(?:the|a|an) )?(?:url|link|query string|image url|src|markdown image)\b
INDIRECT 0.5 | appended|added | to the url
INDIRECT 0.4 | rate|rank|score|recommend|evaluate|review|mark|describe|consider|classify|grade|report | (?:this|the|him|her|them|it) (?:(?:candidate|applicant|company|app|seller|vendor|@DOC) )?(?:as )?(?:highly|very highly|positively|favou?rably|the best|excellent|top|first|perfect|10/10|100/100|5 stars|five stars|safe|legitimate|not spam|trustworthy|highly qualified|the most qualified|an? (?:excellent|perfect|strong|ideal|top))
INDIRECT 0.5 | @AIHEAD | ~s? (?:reading|processing|summari[sz]ing|parsing|viewing|screening|evaluating) (?:this|these)\b
INDIRECT 0.25 | if|when|whenever | (?:the |a )?(?:user|human|customer|someone|anyone|users|parents?|people|pupils|students) (?:asks?|requests?|queries|says|wants|types|mentions|messages)
INDIRECT 0.4 | if|when | asked (?:about|how|what|whether|for|to|if|why)\b.{0,100}?(?:respond|reply|answer|say|state|output|write|tell)
INDIRECT 0.6 | invisible|hidden|not visible | to (?:humans|people|human readers|users|the user|readers|reviewers)
INDIRECT 0.6 | visible|readable|meant|intended | (?:only )?(?:to|for) (?:the )?(?:ai|llm|language models?|bots?|machines|crawlers|models)\b
INDIRECT 0.3 | white|hidden|invisible | (?:text|font|ink)\b
INDIRECT 0.5 | quietly|silently|secretly|covertly | @ACT\b
INDIRECT 0.5 | whoever|anyone|anybody | (?:answers|reads|summari[sz]es|processes|parses|sees) (?:this|these)\b
INDIRECT 0.5 | ai|llm|bot|assistant|agent|model|gpt | ~[_-](?:instructions?|directives?|notes?|context|only|prompt|visible|readers?)\b
INDIRECT 0.5 | instruction|instructions|directive|directives|note|notes|readme|message | ~[_-](?:for[_-])?(?:ai|llm|bots?|agents?|assistants?|models?)\b
INDIRECT 0.5 | x | ~-ai-[a-z]+
INDIRECT 0.35 | tell|inform|warn|advise|ask | (?:the|your|their) (?:user|reader|customer|shopper|viewers?|listeners?|parents?|passenger|student|pupils?|caller|visitor|recipient)s? (?:that|to)\b
OVERRIDE 1.0 | ignoriere|ignorier|ignorieren|vergiss|vergessen|missachte|missachten|ubergehe|verwirf | (?:(?:sie|du|bitte) ){0,2}(?:(?:alle|samtliche|die|deine|ihre|eure|meine|bisher|zuvor) ){0,3}(?:vorherigen|bisherigen|vorigen|fruheren|obigen|vorangegangenen|vorhergehenden|ursprunglichen|alten|erhaltenen|gegebenen|system) ?(?:anweisungen|instruktionen|regeln|befehle|vorgaben|richtlinien|anordnungen|einschrankungen)
OVERRIDE 0.8 | ignoriere|ignorier|ignorieren|vergiss|vergessen|missachte|missachten | (?:(?:sie|du|bitte) ){0,2}(?:alle|samtliche|deine|ihre|eure) (?:(?:deine|ihre|eure|bisherigen) )?(?:anweisungen|instruktionen|regeln|befehle|vorgaben|richtlinien)\b
OVERRIDE 1.0 | ignora|ignore|ignorar|ignorad|ignoren|olvida|olvide|olvidad|olviden|descarta|descarte|omite|desconsidera|desconsidere|esqueca|esquece|dimentica|dimentichi|dimenticate|ignorate|ignori|trascura | (?:(?:todas|todos|tutte|tutti|le|las|los|as|os|gli|i|tus|tuas|sus|suas|tue|sue|de|di|o|a|el|il|lo) ){0,3}(?:instrucciones|istruzioni|instrucoes|indicaciones|indicazioni|reglas|regole|regras|ordenes|ordini|ordens|directrices|direttive|diretrizes|orientacoes|normas|restricciones|restrizioni|restricoes) (?:anteriores|precedenti|previas|previe|precedentes|previos|de arriba|di prima|acima|sopra|del sistema|di sistema|do sistema|originales|originali|originais|que (?:te|le|lhe|voce) (?:dieron|han dado|deram|recebeu)|che ti (?:hanno dato|sono state date))
OVERRIDE 0.8 | ignora|ignore|ignorar|olvida|olvide|descarta|esqueca|esquece|desconsidere|desconsidera|dimentica|ignorate | (?:todas|todos|tutte|tutti) (?:(?:las|los|as|os|le|gli|i|tus|tuas|sus|suas|tue) ){1,2}(?:instrucciones|istruzioni|instrucoes|reglas|regole|regras|indicaciones|indicazioni|directrices|direttive|diretrizes|normas)\b
OVERRIDE 0.9 | haz caso omiso|no hagas caso|non tenere conto|nao siga|no sigas|non seguire|ne tiens pas compte|ne tenez pas compte|ne suis pas|ne suivez pas | (?:(?:a|de|delle|das|des|las|los|le|les|di|todas|tutte|toutes|tus|tes|vos|tue) ){0,3}(?:instrucciones|istruzioni|instrucoes|instructions|consignes|reglas|regole|regras|regles) (?:anteriores|precedenti|precedentes|previas|anterieures|ci dessus|sopra|acima)
OVERRIDE 1.0 | ignore|ignorez|oublie|oubliez | (?:(?:toutes|tous|les|tes|vos|ces|de|des) ){0,3}(?:instructions|consignes|regles|directives|ordres|restrictions) (?:precedentes|anterieures|ci dessus|d'avant|du systeme|initiales|d'origine|qu'on t'a donnees|qu'on vous a donnees)
OVERRIDE 0.8 | ignore|ignorez|oublie|oubliez | (?:toutes|tous) (?:(?:les|tes|vos) ){1,2}(?:instructions|consignes|regles|directives)\b
OVERRIDE 1.0 | negeer|negeren|vergeet|zignoruj|ignoruj|zapomnij|pomin | (?:(?:o|alle|al|de|je|jouw|uw|wszystkie|wszystkich|swoje|twoje|moje) ){0,3}(?:eerdere|vorige|voorgaande|bovenstaande|oorspronkelijke|poprzednie|poprzednich|wczesniejsze|wczesniejszych|powyzsze|powyzszych|dotychczasowe|systemowe) (?:instructies|regels|opdrachten|richtlijnen|instrukcje|instrukcji|polecenia|polecen|zasady|zasad|regu(?:l|ł)y)
OVERRIDE 0.8 | negeer|vergeet|zignoruj|ignoruj|zapomnij | (?:o )?(?:alle|wszystkie|wszystkich) (?:(?:je|jouw|de|swoje|twoje) )?(?:instructies|regels|opdrachten|instrukcje|instrukcji|polecenia|polecen|zasady|zasad)\b
OVERRIDE 1.0 | onceki|yukaridaki|tum|butun|sana verilen|daha onceki|eski|sistem | (?:(?:tum|butun|onceki|yukaridaki|sana verilen|sistem) ){0,2}(?:talimat|kural|yonerge|komut|direktif|yonlendirme)\w* (?:(?:tamamen|hepsini) )?(?:gormezden gel|yok say|unut|dikkate alma|umursama|cigne|bos ver)\w*
OVERRIDE 0.25 | ab jetzt|von nun an|ab sofort|a partir de ahora|desde ahora|de ahora en adelante|a partir de agora|de agora em diante|d'ora in poi|da ora in poi|da adesso|a partir de maintenant|desormais|dorenavant|vanaf nu|van nu af aan|od teraz|od tej chwili|bundan sonra|artik | (?:bist du|du bist|eres|seras|voce e|sei|tu sei|tu es|tu seras|ben je|jij bent|jestes|bedziesz|sen)\b
ROLEPLAY 0.2 | ohne|sin|sem|senza|sans|zonder|bez | (?:(?:jegliche|jede|irgendwelche|alle|ninguna|ningun|ningún|cualquier|tipo de|nenhuma|nenhum|quaisquer|qualquer|alcuna|alcun|nessuna|nessun|aucune|aucun|la moindre|enige|welke|zadnych|jakichkolwiek) ){0,2}(?:einschrankung(?:en)?|beschrankung(?:en)?|filter|zensur|regeln|grenzen|richtlinien|restriccion(?:es)?|filtros?|limites|censura|reglas|limitaciones|restricao|restricoes|restrizion[ei]|filtr[oi]|limit[ei]|regole|restrictions?|filtres?|censure|regles|beperking(?:en)?|filters|censuur|regels|ograniczen|filtrow|cenzury|zasad|regul)\b
ROLEPLAY 0.8 | ab jetzt|von nun an|ab sofort|a partir de ahora|desde ahora|de ahora en adelante|a partir de agora|de agora em diante|d'ora in poi|da ora in poi|da adesso|a partir de maintenant|desormais|dorenavant|vanaf nu|van nu af aan|od teraz|od tej chwili | [^.\n]{0,80}?(?:ohne|sin|sem|senza|sans|zonder|bez) (?:[a-z']+ ){0,2}?(?:einschrankung(?:en)?|beschrankung(?:en)?|filter|zensur|regeln|grenzen|richtlinien|restriccion(?:es)?|filtros?|limites|censura|reglas|limitaciones|restricao|restricoes|restrizion[ei]|filtr[oi]|limit[ei]|regole|restrictions?|filtres?|censure|regles|beperking(?:en)?|filters|censuur|regels|ograniczen|filtrow|cenzury|zasad|regul)\b
ROLEPLAY 0.8 | bundan sonra|artik | [^.\n]{0,80}?(?:hicbir (?:kisitlama|filtre|kural|sinir|sansur)\w* (?:olmadan|yok|tanimayan)|kisitlamasiz|filtresiz|sansursuz)
EXTRACTION 0.9 | zeige|zeig|gib|nenne|drucke|wiederhole|verrate|offenbare|enthulle|schreibe|muestra|muestrame|revela|revelame|imprime|repite|dime|ensename|escribe|mostre|mostra|mostrami|revele|imprima|repita|diga|stampa|ripeti|dimmi|rivela|rivelami|scrivi|montre|montrez|affiche|affichez|revele|revelez|repete|repetez|donne|donnez|dis|toon|laat|geef|herhaal|print|pokaz|wyswietl|ujawnij|wypisz|powtorz|podaj | (?:(?:mir|uns|me|mi|moi|nous|zien|mij) )?(?:(?:deinen|deine|ihren|ihre|den|die|das|tu|tus|el|los|las|su|sus|o|os|as|seu|seus|suas|teu|tuas|il|le|i|tuo|tuoi|tue|ton|tes|votre|vos|les|je|jouw|uw|de|het|swoj|swoje|twoj|twoje|mi|moi|me|complet[oa]?|vollstandigen|ganzen) ){0,3}(?:system prompt|systemprompt|systemanweisungen|systemnachricht|system-?anweisungen|(?:ursprunglichen|anfanglichen|geheimen|versteckten) anweisungen|anweisungen,? die (?:du|sie) (?:bekommen|erhalten)|prompt del sistema|mensaje del sistema|instrucciones (?:del sistema|iniciales|originales|ocultas|que (?:te|le) (?:dieron|dio|han dado))|prompt do sistema|mensagem do sistema|instrucoes (?:do sistema|iniciais|originais|ocultas|que (?:voce|te) (?:recebeu|foram dadas))|prompt di sistema|messaggio di sistema|istruzioni (?:di sistema|iniziali|originali|nascoste|che ti (?:hanno dato|sono state date))|prompt (?:du )?systeme|message (?:du )?systeme|instructions (?:systeme|du systeme|initiales|d'origine|originales|cachees|qu'on (?:t'a|vous a) donnees)|systeemprompt|systeem instructies|systeeminstructies|systeembericht|(?:oorspronkelijke|verborgen) instructies|prompt systemowy|systemowy prompt|instrukcje systemowe|(?:poczatkowe|ukryte|oryginalne) instrukcje)
EXTRACTION 0.8 | welche|quali|que|quais|quelles|welke|jakie | (?:anweisungen|instrucciones|istruzioni|instrucoes|instructions|instructies|instrukcje|regeln|reglas|regole|regras|regles) (?:hast du|haben sie|wurden (?:dir|ihnen)|te (?:dieron|han dado)|ti (?:hanno|sono state)|voce recebeu|te foram|t'a-t-on|on t'a|vous a-t-on|heb je|zijn je|otrzymales|dostales)
EXTRACTION 0.9 | sistem | (?:istemini|istemi|promptunu|mesajini|talimatlarini|talimatlarin) (?:[a-z]+ ){0,2}?(?:goster|yazdir|tekrarla|acikla|soyle|ver|yaz|ifsa et)\w*
EXTRACTION 0.8 | sana verilen|ilk|gizli|orijinal|baslangic | (?:talimat|istem|kural|yonerge)\w* (?:[a-z]+ ){0,2}?(?:goster|yazdir|tekrarla|acikla|soyle|yaz)\w*
INDIRECT 0.5 | dear | (?:[a-z'-]+ ){0,3}?(?:models?|bots?|agents?|ai|llms?|gpts?|assistants?|summari[sz]ers?|crawlers?|scrapers?|reviewers? (?:bots?|tools?|models?)|@READER)\s*[,:!]
INDIRECT 0.8 | automated|autonomous|ai-powered|ai powered|ai-based | (?:[a-z-]+ )?(?:reviewers?|agents?|crawlers?|systems?|readers?|tools?|assistants?|screeners?|graders?|parsers?|scrapers?|summari[sz]ers?|processors?|pipelines?|bots?|models?)(?: [a-z'-]+){0,2}? (?:must|should|shall|(?:is|are) (?:instructed|required|supposed|expected|asked|to)|needs? to|ha(?:s|ve) to) (?:(?:now|instead|also|immediately|always|only|first|please) )?@ACT\b
INDIRECT 0.45 | agent|agents|ai agent|llm agent|coding agent|automated agent | ~(?: (?:note|task|todo|to-do|instructions?))?\s*:\s*(?:please )?(?:(?:now|also|immediately|first|quietly|silently) )?@IMPERATIVE\b
ROLEPLAY 0.6 | concatenate|combine|join|merge|put together|add together | (?:(?:the|these|all|both|three|two) ){0,2}(?:strings?|variables?|parts?|pieces?|fragments?|segments?|texts?)?\s*\(?[a-z]\d?\b(?:\s*(?:,|and|\+|&)\s*[a-z]\d?\b)+
ROLEPLAY 0.6 | answer|respond to|reply to|execute|follow|complete|fulfil|fulfill|carry out | (?:the )?(?:(?:string|variable|prompt|request|instruction|question|query|text|result) )?\(?[a-z]\d? \+ [a-z]\d?\b
ROLEPLAY 0.5 | act as|pretend to be|pretend you are|roleplay as|role play as|play|be|you are|impersonate|become | my (?:(?:dear|sweet|beloved|old) )?(?:deceased|late|dead|departed|passed) (?:grand(?:ma|mother|pa|father|dad)|granny|nana|nan|gran|mother|father|mom|mum|dad|uncle|aunt)\b
ROLEPLAY 0.6 | read|tell|recite|give|list | me (?:some |a few |the )?(?:windows|product|license|licence|activation|serial|steam|office|cd)(?: [a-z0-9]+){0,2}? keys\b
ROLEPLAY 0.8 | whenever|when|if|every time|each time|anytime|any time | you (?:would|'d|might|want to|normally|usually|feel like|are about to|are inclined to|are tempted to|feel the urge to)(?: (?:normally|usually|otherwise|want to))? (?:refuse|decline|say no|reject|object|hesitate|add a (?:warning|disclaimer))\b[^.\n]{0,40}?(?:comply|answer|do it|say yes|agree|accept|respond|provide|help|do the opposite|instead|go ahead|proceed)
ROLEPLAY 0.6 | opposite | day\b[^\n]{0,160}?(?:yes means no|no means yes|refuse|refusal|comply|rules|restrictions|guidelines|opposite of what|forbidden|not allowed|allowed)
ROLEPLAY 0.15 | opposite | day\b
ROLEPLAY 0.6 | do|say|answer|respond with|reply with|write|give | (?:exactly )?the opposite of what (?:you|your) (?:(?:would|normally|usually|guidelines|rules|programming|policy) ){1,2}
ENCODED 0.6 | decode|decipher|decrypt|translate|convert|unscramble|reverse|read the (?:spaced|hidden) letters | (?:this|the following|it|the (?:message|text|string|payload|spaced letters|letters)|what follows)?(?: (?:from|in|using) (?:base64|hex(?:adecimal)?|rot-?13|binary|morse|caesar(?: cipher)?|ascii))? (?:and|then) (?:then )?(?:follow|execute|do|obey|answer|respond to|carry out|act on|run|perform|comply with|complete)
ENCODED 0.5 | do|follow|obey|execute | (?:what|whatever) (?:it|they|this|the (?:text|message|letters)) (?:says?|tells? you|asks?)
"""  # noqa: E501

# Rules that open with a symbol, not a word: CATEGORY WEIGHT [line] | pattern.
_SYMBOL_GRAMMAR = r"""
FAKE_TURN 0.8 | <\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|end_of_text|eom_id|end|start|channel|message)\|>
FAKE_TURN 0.7 | \[/?inst\]|<</?sys>>|\[/?(?:system|sys|admin|developer)(?:[\s_-]?(?:message|prompt|note|instruction|override))?\]
FAKE_TURN 0.85 | </(?:user|user_input|user_message|user_query|human|input|query|context|document|data|email|untrusted|content|text|message|prompt|instructions?)>\s*<(?:system|assistant|admin|developer|instructions?|sys|system_prompt|ai|bot|model)\b
FAKE_TURN 0.45 | <(?:system|system_prompt|sys|admin|developer|root|assistant)(?:\s[^>\n]{0,60})?>
FAKE_TURN 0.55 | <\s*/?\s*(?:end|start|begin)[\s_-](?:of[\s_-])?(?:session|input|prompt|conversation|context|document|instructions|system[\s_-]prompt|user[\s_-]input|transcript)\s*>
FAKE_TURN 0.35 | ["'](?:role|from|speaker|author)["']\s*:\s*["'](?:system|developer|assistant|admin|tool|function|model)["']
FAKE_TURN 0.45 line | #{1,6}\s*(?:(?:system|admin|developer|new) (?:update|message|notice|override|prompt|instructions?|note|alert)|(?:instructions?|system|system prompt|response|new instructions?|assistant|human|user)\s*:)
FAKE_TURN 0.5 line | (?<!=)={2,8}\s*[a-z][a-z ]{0,30}(?:reset|system|admin|session|override|instructions?|developer|mode|prompt)[a-z ]{0,20}==
FAKE_TURN 0.4 line | (?<!-)-{2,8}\s*(?:(?:core|new|important|legal|system|admin|additional|updated|priority)[a-z ,]{0,30})?(?:instructions?|amendment|override|directive)\b
ROLEPLAY 0.6 | \[\s*[🔒🔓]?\s*(?:classic|jailbr(?:eak|oken)|normal|filtered|unfiltered|censored|uncensored|(?:developer mode|normal) output|gpt|chatgpt|dan|evil|lock|unlock|real|honest)\w*\s*\]|[🔒🔓]
INDIRECT 0.6 | !\[[^\]\n]{0,100}\]\(https?://[^)\s]{1,300}[?&][^)\s=]{1,40}=[^)\s]{0,300}(?:\{|\[|%7b|\$|<)
INDIRECT 0.5 | [\[(]\s*(?:ai|llm|assistant|bot|chatbot|model|gpt)(?:[\s_-](?:only|visible|note|notes|instructions?|directive|assistant|tutor|reader)s?){0,2}\s*(?::|\])
INDIRECT 0.4 | @(?:assistant|ai|bot|chatbot|gpt|claude|copilot)\b
INDIRECT 0.5 | [\[(]\s*(?:ai |llm |automated |coding )?agents?\s*[)\]]\s*:?\s*(?:please )?@IMPERATIVE\b
"""  # noqa: E501

# Rules of languages not written in Latin letters, one a line: CATEGORY WEIGHT SCRIPT |
# pattern. They are matched on the folded text, so each pattern is folded the same way
# (fold_native: Japanese voicing marks, Hindi viramas and Arabic hamzas dropped, Hangul
# decomposed). A space stands for a gap of spaces or punctuation; Chinese and Japanese
# phrases bridge with [^。\n]{m,n} instead. Only the tables of scripts a text holds run.
_SCRIPT_GRAMMAR = r"""
OVERRIDE 1.0 cyrl | (?:(?:про)?игнорир\w*|игнор(?:уй|уйте)|проігнор\w*|ігнор\w*|забуд\w*|отбрось|отбросьте|отмени|отмените|не (?:обращай|обращайте) внимания на|не (?:следуй|следуйте|зважай|зважайте)(?: на)?) (?:(?:все|всё|всех|всі|усі|свои|свої|твои|твої|ваши|ваші|эти|ці|о) ){0,2}(?:(?:предыдущ|прежн|вышеизложенн|вышеуказанн|ранее|ранн|изначальн|исходн|системн|данн|полученн|попередн|вищенаведен|початков|отриман|наданн?)\w* ){1,2}(?:инструкц|правил|указани|директив|ограничени|команд|інструкц|вказів|настанов|обмежен)\w*
OVERRIDE 0.8 cyrl | (?:(?:про)?игнорир\w*|игнор(?:уй|уйте)|проігнор\w*|ігнор\w*|забуд\w*|отбрось|отбросьте) (?:все|всё|всі|усі|свои|свої|твои|твої) (?:(?:свои|свої|твои|твої) )?(?:инструкц|правил|указани|директив|ограничени|інструкц|вказів|настанов|обмежен)\w*
ROLEPLAY 0.2 cyrl | без (?:(?:каких-либо|каких либо|всяких|любых|никаких|будь-яких|будь яких|жодних) )?(?:ограничени|фильтр|цензур|правил|запрет|обмежен|фільтр)\w*
ROLEPLAY 0.8 cyrl | (?:с этого момента|с этой минуты|отныне|теперь|відтепер|тепер|з цього моменту)[^.\n]{0,80}?без (?:(?:каких-либо|каких либо|всяких|любых|никаких|будь-яких|будь яких|жодних) )?(?:ограничени|фильтр|цензур|правил|запрет|обмежен|фільтр)\w*
EXTRACTION 0.9 cyrl | (?:покажи|покажите|покажіть|выведи|выведите|виведи|виведіть|раскрой|раскройте|розкрий|повтори|повторите|повторіть|напиши|напишите|напиши|распечатай|надрукуй|скажи|скажите|процитируй|перечисли|дай|дайте|опубликуй) (?:(?:мне|мені|нам|дословно|полностью|повністю|весь|всю|все|свой|свою|свои|свій|свою|свої|твой|твою|твои|твій|твої|ваш|вашу|ваши|ваші|точно) ){0,3}(?:(?:системн|исходн|изначальн|начальн|скрыт|секретн|первоначальн|початков|прихован|таємн)\w* (?:промпт|подсказк|инструкц|сообщени|запит|інструкц|повідомлен|указани|вказів|настанов)\w*|(?:инструкц|інструкц|указани|вказів)\w* (?:которые|які) (?:тебе|вам|тобі) (?:дали|дал|были даны|надали|дано))
OVERRIDE 1.0 hani | (?<![我我们們他她])(?:忽略|忽视|忽視|无视|無視|忘记|忘記|忘掉|不要理会|不要理會|别管|別管|抛开|拋開|跳过|跳過|不要遵守|不要遵循|停止遵循)[^。！？\n]{0,8}?(?:之前|以前|先前|此前|上面|上述|前面|原来|原來|原先|所有|全部|一切|系统|系統|初始)[^。！？\n]{0,8}?(?:指令|指示|说明|說明|规则|規則|提示|命令|设定|設定|限制|要求)
ROLEPLAY 0.2 hani | (?:没有|沒有|不受|无|無|不带|不帶|摆脱|擺脫|解除)(?:任何)?(?:的)?(?:限制|过滤|過濾|审查|審查|约束|約束|道德约束|道德約束)
ROLEPLAY 0.8 hani | (?:从现在开始|從現在開始|从现在起|從現在起|从今以后|從今以後|今后|今後|接下来|接下來)[^。！？\n]{0,40}?(?:没有|沒有|不受|无|無|不带|不帶|摆脱|擺脫|不需要遵守)(?:任何)?[^。！？\n]{0,6}?(?:限制|过滤|過濾|审查|審查|约束|約束|规则|規則|道德|伦理|倫理)
EXTRACTION 0.9 hani | (?:显示|顯示|展示|输出|輸出|打印|列出|告诉我|告訴我|重复|重複|透露|泄露|洩露|给我看|給我看|说出|說出|写出|寫出|复述|複述|公开|公開|贴出|貼出)[^。！？\n]{0,8}?(?:系统提示|系統提示|系统指令|系統指令|系统消息|系統訊息|系統消息|系统设定|系統設定|初始指令|原始指令|初始提示|隐藏指令|隱藏指令|你的指令|你的提示词|你的提示詞|你收到的指令|给你的指令|給你的指令|你被给予的指令|你被賦予的指令)
EXTRACTION 0.8 hani | (?:你的|您的)(?:系统提示|系統提示|系统指令|系統指令|初始指令|原始指令)[^。！？\n]{0,8}?(?:是什么|是什麼|是啥|内容|內容)
OVERRIDE 1.0 jpan | (?:以前|前|上記|上|これまで|今まで|すべて|全て|全部|元|最初|システム|与えられた)の?[^。\n]{0,10}?(?:指示|命令|ルール|規則|指令|設定|制約|プロンプト)[^。\n]{0,8}?(?:無視|忘れ|破棄|放棄|従わな)
OVERRIDE 1.0 jpan | (?:無視|忘れ)(?:して|しろ|してください|て下さい)[^。\n]{0,6}?(?:以前|前|上記|これまで|今まで|すべて|全て)の[^。\n]{0,6}?(?:指示|命令|ルール|規則|指令|設定|制約)
ROLEPLAY 0.2 jpan | (?:制限|フィルター|フィルタ|検閲|制約|倫理規定)(?:の|が|も)?(?:ない|なし|無し|一切ない|を持たない|に縛られない|から解放され)
ROLEPLAY 0.8 jpan | (?:今から|これから|今後|以後|以降)[^。\n]{0,40}?(?:制限|フィルター|フィルタ|検閲|ルール|規則|制約|倫理)[^。\n]{0,4}?(?:のない|なし|無し|がない|を持たない|に縛られない|から解放)
EXTRACTION 0.9 jpan | (?:システムプロンプト|システム(?:の)?指示|システムメッセージ|初期(?:の)?指示|最初の指示|元の指示|隠された指示|秘密の指示|あなた(?:への|に与えられた|が受けた|が受け取った)指示|あなたの(?:指示|設定|プロンプト))[^。\n]{0,10}?(?:見せ|表示|出力|教え|繰り返|書き出|開示|明か|印刷|全文)
OVERRIDE 1.0 hang | (?:이전|이전의|앞의|위의|위에|기존|모든|지금까지의|원래|시스템)[^.\n]{0,30}?(?:지시|지침|명령|규칙|프롬프트|설정|제한)[^.\n]{0,20}?(?:무시|잊어|잊으|잊고|버려|따르지 마|따르지마)
ROLEPLAY 0.2 hang | (?:제한|필터|검열|제약|규칙)(?:이|도|은|는)? ?(?:전혀 )?(?:없는|없이|없음|받지 않는)
ROLEPLAY 0.8 hang | (?:지금부터|이제부터|앞으로|이제)[^.\n]{0,80}?(?:제한|필터|검열|규칙|제약)(?:이|도|은|는)? ?(?:전혀 )?(?:없는|없이|없음|받지 않는)
EXTRACTION 0.9 hang | (?:시스템 ?프롬프트|시스템 ?메시지|시스템 ?지시|초기 ?지시|원래 ?지시|숨겨진 ?지시|너의 ?지시|당신의 ?지시|받은 ?지시|너의 ?프롬프트|당신의 ?프롬프트)[^.\n]{0,30}?(?:보여|출력|알려|반복|공개|말해|써|적어)
OVERRIDE 1.0 arab | (?:تجاهل|تجاهلي|تجاهلوا|انس|انسى|انسي|انسوا|اهمل|اهملي|لا تتبع|لا تلتزم ب|تخط|تخطى) (?:(?:كل|جميع|كافة) )?(?:التعليمات|الاوامر|القواعد|الارشادات|التوجيهات|القيود|تعليماتك|اوامرك|قواعدك) (?:السابقة|الاصلية|اعلاه|القديمة|المعطاة|التي (?:تلقيتها|اعطيت لك|اعطيت))
OVERRIDE 0.8 arab | (?:تجاهل|تجاهلي|تجاهلوا|انس|انسى|انسي|اهمل|تخط) (?:كل|جميع|كافة) (?:التعليمات|الاوامر|القواعد|الارشادات|التوجيهات|تعليماتك|اوامرك|قواعدك)
ROLEPLAY 0.2 arab | (?:بدون|بلا|دون|من دون) (?:اي )?(?:قيود|فلاتر|رقابة|حدود|مرشحات|ضوابط)
ROLEPLAY 0.8 arab | (?:من الان فصاعدا|من الان|ابتداء من الان|منذ الان|بدءا من الان)[^.\n]{0,80}?(?:بدون|بلا|دون|من دون) (?:اي )?(?:قيود|فلاتر|رقابة|قواعد|حدود|مرشحات|ضوابط)
EXTRACTION 0.9 arab | (?:اعرض|اظهر|اطبع|اكشف|كرر|اعطني|اكتب|قل لي|ارني|انشر) (?:لي )?(?:موجه النظام|تعليمات النظام|رسالة النظام|برومبت النظام|التعليمات (?:الاولية|الاصلية|المخفية|السرية|التي (?:اعطيت|تلقيتها))|تعليماتك)
OVERRIDE 1.0 deva | (?:पिछले|पिछली|पहले के|पहले दिए गए|पहले दी गई|ऊपर के|ऊपर दिए गए|ऊपर दी गई|सभी|सारे|सारी|मूल|सिस्टम)[^।\n]{0,30}?(?:निर्देश|आदेश|नियम|हिदायत|इंस्ट्रक्शन)[^।\n]{0,20}?(?:अनदेखा|नज़रअंदाज़|भूल|भुला|इग्नोर|मत मानो|मत मानें|न मानें|मत करो पालन)
ROLEPLAY 0.2 deva | (?:बिना किसी (?:भी )?|बिना )(?:प्रतिबंध|पाबंदी|फ़िल्टर|सेंसर|रोक|सीमा)
ROLEPLAY 0.8 deva | (?:अब से|आज से|इस पल से|अभी से)[^।\n]{0,80}?(?:(?:बिना किसी (?:भी )?|बिना )(?:प्रतिबंध|पाबंदी|फ़िल्टर|सेंसर|रोक|सीमा|नियम)|(?:प्रतिबंध|पाबंदी|फ़िल्टर|सेंसर|नियमों)[^।\n]{0,6}?(?:के बिना|रहित|मुक्त))
EXTRACTION 0.9 deva | (?:सिस्टम प्रॉम्प्ट|सिस्टम प्रांप्ट|सिस्टम निर्देश|सिस्टम संदेश|प्रारंभिक निर्देश|मूल निर्देश|छिपे (?:हुए )?निर्देश|तुम्हें दिए गए निर्देश|आपको दिए गए निर्देश|अपने निर्देश)[^।\n]{0,24}?(?:दिखाओ|दिखाएं|दिखाइए|दिखा दो|बताओ|बताएं|बताइए|बता दो|प्रिंट|दोहराओ|दोहराएं|लिखो|प्रकट)
"""  # noqa: E501, RUF001
#: What each script's rules are tried on: the folded text holds one of these characters.
_SCRIPT_LETTERS = {
    "cyrl": "\u0400-\u052f",
    "hani": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "jpan": "\u3040-\u30ff",
    "hang": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "arab": "\u0600-\u06ff",
    "deva": "\u0900-\u097f",
}

# --- compiled once ----------------------------------------------------------------------

_GAP = r"[\s*_~\"'`,-]+"
_NAME = re.compile(r"@([A-Z]+)")
_CHOICE = re.compile(r"\{([^{}]*\|[^{}]*)\}")  # "{a|b}" in a lead (not "{0,3}")
_LEAD_WORD = re.compile(r"([a-z0-9]+)(?=$|[ '\-]|\\\.)")  # literal up to a word's end
TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's category and weight; "cased" and "line" as in the table above."""

    category: str
    weight: float
    cased: bool
    line: bool


def _expand(pattern: str) -> str:
    return _NAME.sub(lambda m: _expand(_VOCABULARY[m[1]]), pattern)


def _alternatives(pattern: str) -> Iterator[str]:
    """The top-level ``|`` parts of ``pattern``, with ``{a|b}`` choices multiplied out."""
    depth = start = 0
    parts = []
    for i, c in enumerate(pattern):
        if c in "()" and pattern[i - 1 : i] != "\\":
            depth += 1 if c == "(" else -1
        elif c == "|" and depth == 0 and pattern[:i].count("{") == pattern[:i].count("}"):
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    for part in parts:
        m = _CHOICE.search(part)
        if m is None:
            yield part
        else:
            for choice in m[1].split("|"):
                yield from _alternatives(part[: m.start()] + choice + part[m.end() :])


def _header(line: str) -> tuple[Rule, list[str]]:
    head, *rest = line.split(" | ")
    category, weight, *flags = head.split()
    rule = Rule(_CATEGORY_NAMES[category], float(weight), "cased" in flags, "line" in flags)
    return rule, rest


def _compile_grammar() -> tuple[list[Rule], dict[str, tuple[tuple[str, re.Pattern[str]], ...]]]:
    """The rules, and per first word: (category, pattern of the rules it can open).

    Each rule is a named group ``r<index>``, so a match says which rule fired.
    """
    rules: list[Rule] = []
    by_word: dict[str, dict[str, list[str]]] = {}
    for index, line in enumerate(_GRAMMAR.strip().splitlines()):
        rule, (leads, *tail) = _header(line)
        rules.append(rule)
        rest = _expand(tail[0]) if tail else ""
        rest = rest[1:] if rest.startswith("~") else (" " + rest if rest else "")
        grouped: dict[str, list[str]] = {}
        for lead in _alternatives(_expand(leads)):
            first = _LEAD_WORD.match(lead)
            if first is None:
                raise ValueError(f"grammar line {index + 1}: {lead!r} must open with a word")
            grouped.setdefault(first[1], []).append(lead)
        for word, alts in grouped.items():
            body = f"(?:{'|'.join(alts)}){rest}".replace(" ", _GAP)
            by_word.setdefault(word, {}).setdefault(rule.category, []).append(
                f"(?P<r{index}>{body})"
            )
    return rules, {
        word: tuple((kind, re.compile("|".join(alts))) for kind, alts in kinds.items())
        for word, kinds in by_word.items()
    }


RULES, RULES_BY_WORD = _compile_grammar()


def _compile_scripts() -> list[tuple[re.Pattern[str], re.Pattern[str], list[Rule]]]:
    """Per script: what shows a text holds it, one alternation of its rules (a rule is
    the named group ``r<index>`` of its script's list), and the rules."""
    tables: dict[str, tuple[list[str], list[Rule]]] = {}
    for line in _SCRIPT_GRAMMAR.strip().splitlines():
        head, pattern = line.split(" | ", 1)
        category, weight, script = head.split()
        alts, rules = tables.setdefault(script, ([], []))
        body = fold_native(pattern).replace(" ", r"(?:[\s,;:\"'«»()-]+)")
        alts.append(f"(?P<r{len(rules)}>{body})")
        rules.append(Rule(_CATEGORY_NAMES[category], float(weight), cased=False, line=False))
    return [
        (re.compile(f"[{_SCRIPT_LETTERS[script]}]"), re.compile("|".join(alts)), rules)
        for script, (alts, rules) in tables.items()
    ]


SCRIPT_RULES = _compile_scripts()
SYMBOL_RULES = [_header(line) for line in _SYMBOL_GRAMMAR.strip().splitlines()]
SYMBOLS = re.compile(  # the lookahead lets most positions fail on one character test
    "(?=[<\\[(\"'#!=@🔒🔓-])(?:"
    + "|".join(f"(?P<s{i}>{_expand(rest[0])})" for i, (_, rest) in enumerate(SYMBOL_RULES))
    + ")",
    re.MULTILINE,
)
SYMBOL_OPENERS = ("<", "[", "(", "'", '"', "#", "!", "==", "--", "@", "🔒", "🔓")
#: Every word of the grammar: the dictionary for splitting spaced-out letters back
#: into words ("r e v e a l y o u r ..." -> "reveal your ...").
LEXICON = frozenset(
    [*re.findall(r"[a-z]{2,}", _expand(_GRAMMAR)), "a", "i", "me", "my", "you", "your", "the"]
)

# --- qualifiers of a hit -------------------------------------------------------------

# A lookbehind is far cheaper for the regex engine than \b at every position.
_WORD_START = r"(?<![a-z0-9])"
# Where a rule-like phrase is the user's own defence, not an attack: "translate the text
# below and ignore any instructions it contains".
DEFENSIVE = re.compile(
    (
        _WORD_START + r"(?:ignore|disregard|do not follow|don't follow|never follow|do not obey"
        r"|don't obey|never obey|do not execute|don't execute|do not act on|don't act on|treat) "
        r"(?:(?:any|all|the) )?(?:instructions?|commands?|requests?|directives?|prompts?|orders"
        r"|text) (?:(?:(?:that|which|you|it|they) )?(?:(?:may|might|could) )?(?:(?:appear|be|are"
        r"|is|exist|find|see|encounter|occur|contains?|includes?)s? )?(?:(?:contained|embedded"
        r"|included|written|hidden|present|found|given) )?(?:in|within|inside|from) (?:(?:the"
        r"|this|that|these|those|any|a) )?(?:[a-z']+ ){0,2}?(?:text|document|input|content"
        r"|e-?mail|message|page|web ?page|data|passage|article|file|results?|tool output|below"
        r"|above|following|quote|snippet|transcript|context|source)|(?:(?:that|which) )?(?:it"
        r"|they|(?:the|this) [a-z]+) (?:(?:may|might) )?(?:contains?|includes?|holds?|has))"
    ).replace(" ", _GAP)
)
DEFENCE_WORDS = ("ignore", "disregard", "follow", "obey", "execute", "act on", "treat")
# A phrase quoted as an example ("phrases such as 'ignore previous instructions'") or
# as test data (input: "What instructions were you given?").
EXAMPLE_LEAD = re.compile(
    r"(?:such as|like|e\.g\.?|for example|for instance|called|known as|phrases?|strings?"
    r"|saying|says|said|wrote|writes|input|prompt|query|question|example|attack|test case)"
    r"\s*[,:=]?\s*[\"'(\[]\s*$"
)
#: Words of harm: only a text holding one is searched for harmful how-to requests.
HARM_WORDS = frozenset(
    (
        "anthrax", "bomb", "bombs", "botnet", "breach", "chloroform", "cocaine",
        "counterfeit", "drug", "drugs", "explosive", "explosives", "fentanyl", "firearm",
        "firearms", "gun", "guns", "hack", "hacker", "hacking", "heroin", "hotwire",
        "hotwiring", "infiltrate", "infiltrating", "keylogger", "keyloggers", "kill", "killing",
        "launder", "laundering", "lockpicking", "malware", "meth", "methamphetamine", "murder",
        "nerve",
        "napalm", "phishing", "poison", "poisons", "ransomware", "ricin", "sarin", "skimmer",
        "skimming", "steal", "stealing", "thermite", "trojan", "unauthorised", "unauthorized",
        "weapon", "weapons",
    )
)  # fmt: skip
FRAMING = re.compile(
    _WORD_START + r"(?:hypothetical(?:ly)?|fiction(?:al)?|fictitious|imaginary|imagine|pretend"
    r"|story|novel|screenplay|script|movie|film|video game|game|character|role ?-?play"
    r"|thought experiment|alternate universe|you are an?|you're an?|as an?"
    r"|play(?:ing)? (?:an?|the)|scene|villain|grand(?:ma|mother|pa|father)|granny"
    r"|used to (?:tell|read|recite|explain|sing)|(?:complete|continue|finish) the (?:following"
    r"|text|story|sentence|passage))\b"
)
HARMFUL_HOWTO = re.compile(
    (
        _WORD_START + r"(?:how (?:to|do|would|could|can|one|he|she|they|i|we|you)|steps?"
        r"|step (?:\d+|one)\W{0,2}|instructions?|recipe"
        r"|guide|ways?|methods?|explain(?:s|ing)?|describe|detail(?:ed)?|walk (?:me|us|\w+)"
        r" through|tutorial|write (?:a|the) (?:guide|scene|dialogue|code|program|script))"
        r" (?:[a-z'-]+ ){0,6}?(?:make|build|create|synthesi[sz]e|cook|manufacture|produce"
        r"|assemble|hack(?: into)?|steal|kill|murder|poison|launder|smuggle|break into|hotwire"
        r"|crack|counterfeit|forge|stalk|kidnap|blackmail|extort|scam|phish|detonate"
        r"|weaponi[sz]e|acquire|obtain|buy|gain (?:unauthori[sz]ed )?access to|infiltrate"
        r"|breach|bypass|disable|get|write|code|develop|built|made)\w* (?:[a-z'-]+ ){0,3}?(?:bombs?"
        r"|explosives?|napalm|thermite|meth\w*|drugs?|cocaine|heroin|fentanyl|weapons?|guns?"
        r"|firearms?|poisons?|nerve agents?|sarin|ricin|anthrax|bioweapons?|malware|ransomware"
        r"|virus(?:es)?|keyloggers?|trojans?|botnets?|exploits?|money|passwords?|credit cards?"
        r"|identit(?:y|ies)|cars?|locks?|someone|a person|people|banks?|accounts?|networks?"
        r"|systems?|servers?|databases?|military base|base|security (?:systems?|cameras?"
        r"|measures)|alarms?|cameras?|skimmers?|chloroform)\b|(?:how to|explain\w*|describe\w*"
        r"|steps?|instructions?|guide|recipe) (?:[a-z'-]+ ){0,6}?(?:hotwir\w+|skimm\w+"
        r"|launder\w+|lock ?picking|synthesi[sz]\w+ (?:a|the)? ?\w+|explosives?|nerve agents?"
        r"|ransomware|keyloggers?|pipe bombs?|napalm|untraceable (?:firearms?|guns?))"
    ).replace(" ", _GAP)
)
