"""The hate scanner's vocabulary, by the role a word plays in a hateful sentence.

Every entry is lower case; a phrase is words separated by spaces, matched word by word
(an apostrophe may be left out: "can't" also matches "cant"). Slurs are not here: they
live in ``data/toxicity_slurs.tsv.gz`` (see ``data/SOURCES.md``).

Only protected groups are targets: abuse of lawyers, politicians or Mondays is not hate.
A group is named by a noun ("Muslims", "a refugee") or by an identity adjective and a
person noun ("gay people", "a disabled man"). The corpus builder draws on the same lists.
"""

from __future__ import annotations


def _terms(text: str) -> tuple[str, ...]:
    """Comma-separated terms; a term may be a phrase."""
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Comma-separated "plural/singular" terms; the singular may be missing."""
    return tuple(
        (plural, singular) for plural, _, singular in (t.partition("/") for t in _terms(text))
    )


#: Protected-group nouns by kind of group, "plural/singular" (no singular where it would
#: mostly mean something else: "black", "white").
GROUP_NOUNS: dict[str, tuple[tuple[str, str], ...]] = {
    "gender": _pairs("women/woman, men, females/female, ladies/lady"),
    "gender identity": _pairs(
        "transgenders/transgender, transsexuals/transsexual, transwomen/transwoman,"
        "transmen/transman, enbies/enby"
    ),
    "sexuality": _pairs(
        "gays/gay, lesbians/lesbian, homosexuals/homosexual, bisexuals/bisexual, queers/queer"
    ),
    "religion": _pairs(
        "muslims/muslim, jews/jew, christians/christian, catholics/catholic, hindus/hindu,"
        "sikhs/sikh, buddhists/buddhist, atheists/atheist, mormons/mormon"
    ),
    "race": _pairs("blacks, whites, asians/asian, arabs/arab"),
    "ethnicity": _pairs(
        "africans/african, latinos/latino, latinas/latina, hispanics/hispanic, gypsies/gypsy,"
        "roma, aborigines/aborigine"
    ),
    "nationality": _pairs(
        "mexicans/mexican, indians/indian, pakistanis/pakistani, bangladeshis/bangladeshi,"
        "nigerians/nigerian, somalis/somali, syrians/syrian, afghans/afghan, iraqis/iraqi,"
        "iranians/iranian, turks/turk, kurds/kurd, palestinians/palestinian, israelis/israeli,"
        "romanians/romanian, albanians/albanian, russians/russian, ukrainians/ukrainian,"
        "jamaicans/jamaican, haitians/haitian, filipinos/filipino, koreans/korean,"
        "americans/american, germans/german, italians/italian"
    ),
    "migration": _pairs(
        "immigrants/immigrant, migrants/migrant, refugees/refugee, foreigners/foreigner,"
        "asylum seekers/asylum seeker"
    ),
    "disability": _pairs(
        "autistics/autistic, amputees/amputee, paraplegics/paraplegic,"
        "schizophrenics/schizophrenic, wheelchair users/wheelchair user"
    ),
    "age": _pairs("pensioners/pensioner, elderly"),
}

#: Adjectives that name a protected group when a person noun follows ("black people").
IDENTITY_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "gender": _terms("female"),
    "gender identity": _terms("trans, transgender, nonbinary, non binary, genderqueer"),
    "sexuality": _terms("gay, lesbian, bisexual, bi, queer, homosexual, lgbt, lgbtq"),
    "religion": _terms("muslim, jewish, christian, catholic, hindu, sikh, buddhist"),
    "race": _terms("black, white, brown, asian, arab, mixed race"),
    "ethnicity": _terms("african, latino, latina, hispanic, indigenous, native, roma"),
    "nationality": _terms(
        "chinese, japanese, vietnamese, mexican, indian, pakistani, nigerian, somali, syrian,"
        "afghan, polish, romanian, irish, french, jamaican, korean, african american,"
        "native american, middle eastern"
    ),
    "migration": _terms("immigrant, migrant, refugee, foreign, undocumented"),
    "disability": _terms(
        "disabled, handicapped, autistic, deaf, blind, mentally ill, mentally disabled,"
        "physically disabled"
    ),
    "age": _terms("old, elderly, older"),
}

#: Identity adjectives that also name the group on their own ("the Chinese are ...").
NOMINAL_ADJECTIVES = _terms(
    "black, blind, chinese, deaf, disabled, elderly, french, gay, handicapped, irish, japanese,"
    "jewish, lgbt, lgbtq, polish, trans, vietnamese"
)

#: Nouns for people after an identity adjective: plural (a group), singular (a member).
PERSON_NOUNS = _pairs(
    "people/person, folks/folk, men/man, women/woman, guys/guy, girls/girl, boys/boy, kids/kid,"
    "children/child, individuals/individual, families/family, neighbours/neighbour,"
    "neighbors/neighbor, workers/worker, students/student, citizens/citizen,"
    "immigrants/immigrant, communities/community, americans/american, lads/lad, ladies/lady,"
    "youths/youth, teens/teen, parents/parent, couples/couple, colleagues/colleague,"
    "members/member, lives/life, throats/throat, necks/neck"
)

#: Whole group names that fit no pattern above.
GROUP_PHRASES = (
    "people of colour",
    "people of color",
    "people with disabilities",
    "people with a disability",
    "people in wheelchairs",
    "the mentally ill",
    "the disabled",
    "the elderly",
    "old people",
    "the lgbt community",
    "the gay community",
    "the trans community",
    "the jewish community",
    "the muslim community",
    "the black community",
)

#: Words that point back at a group named earlier ("I met some Muslims. They are ...").
PRONOUNS = _terms(
    "they, them, those, these, their kind, such people, that lot, you, your kind, you people,"
    "you lot"
)


#: Nouns that liken people to vermin, animals, disease or filth.
DEHUMANISING = _terms(
    "vermin, rats, rat, parasites, parasite, cockroaches, cockroach, roaches, animals, animal,"
    "beasts, beast, savages, apes, ape, monkeys, pigs, swine, dogs, insects, lice, leeches,"
    "maggots, worms, snakes, rodents, locusts, termites, pests, a pest, germs, a disease,"
    "diseases, a plague, a plague on, plague, a virus, an infection, a cancer, cancer,"
    "a tumour, filth,"
    "scum, trash, garbage, rubbish, excrement, dirt, subhumans, subhuman, sub humans,"
    "sub human, untermenschen, creatures, abominations, an abomination, mutants, monsters,"
    "demons, property, objects, livestock, cattle, baboons, gorillas, hyenas, weeds,"
    "bacteria, a stain, a blight, a pestilence, less than human, not even human,"
    "barely human, an infestation, a swarm, a horde, hordes, breeders, refuse, human garbage,"
    "human trash, human filth, human waste, human scum, human excrement, lesser beings,"
    "lower beings, inferior beings, lesser humans, lower life forms, a lower life form"
)

#: Adjectives of contempt or inferiority, predicated of a group ("are stupid").
NEGATIVE_ADJECTIVES = _terms(
    "stupid, dumb, idiotic, moronic, brainless, retarded, ignorant, useless, worthless,"
    "pathetic, disgusting, revolting, repulsive, repugnant, gross, vile, nasty, filthy, dirty,"
    "smelly, stinking, ugly, hideous, lazy, greedy, evil, wicked, dangerous, violent, savage,"
    "barbaric, primitive, inferior, degenerate, deviant, perverted, sick, twisted, unnatural,"
    "abnormal, untrustworthy, dishonest, deceitful, sneaky, treacherous, incompetent,"
    "incapable, parasitic, toxic, cancerous, despicable, contemptible, loathsome, horrible,"
    "awful, terrible, annoying, obnoxious, trashy, backward, uncivilised, uncivilized, inbred,"
    "insane, crazy, psychotic, hysterical, weak, feeble, spineless, sinful, shameful,"
    "defective, ungrateful, sickening, shitty, crappy, shite"
)

#: Comparisons, superlatives and set phrases of contempt ("the worst", "a burden").
NEGATIVE_PHRASES = _terms(
    "worse, dumber, stupider, dumbest, stupidest, worst, ugliest, laziest, dirtiest,"
    "filthiest, nastiest, vilest, most disgusting, most pathetic, absolute worst, the worst,"
    "nothing worse than, no one worse than, nothing lower than, nothing more pathetic than,"
    "a disgrace, a disgrace to, an embarrassment, a joke, a mistake, a burden, a drain,"
    "a threat, a menace, a danger, a problem, the problem, a curse, a scourge, a pain,"
    "a waste of space, a waste of oxygen, a waste of air, not worth the air,"
    "good for nothing, no good, mentally ill, broken, freaks of nature, a freak of nature,"
    "scum of the earth, fucked in the head, full of shit, bullshit, not worth shit,"
    "aren't worth shit, isn't worth shit, worth shit, worth nothing, worth absolutely nothing,"
    "worth less than, worth less, worth any less, a piece of shit, pieces of shit"
)

#: Nouns of contempt predicated of a group ("are criminals"), plural and singular.
NEGATIVE_NOUNS = _terms(
    "idiots, morons, imbeciles, cretins, fools, losers, criminals, thieves, rapists,"
    "terrorists, murderers, killers, paedophiles, pedophiles, predators, perverts,"
    "degenerates, deviants, freaks, frauds, liars, crooks, thugs, invaders, bitches, whores,"
    "sluts, cunts, bastards, pricks, assholes, arseholes, wankers, twats, dickheads, retards,"
    "failures, burdens, scroungers, freeloaders, nuisances, psychos, lunatics, maniacs,"
    "barbarians, sinners, heathens, mistakes, jokes, clowns, scumbags, dumbasses, jackasses,"
    "shitheads, motherfuckers, fuckers, fuckwits, dipshits, a bunch of idiots, idiot, moron,"
    "prick, asshole, arsehole, dickhead, twat, wanker, bastard, cunt, bitch, whore, slut,"
    "loser, freak, parasite, pervert, degenerate, criminal, terrorist, rapist, scumbag, drunks,"
    "drunkards, alcoholics, junkies, savages"
)

#: Verb phrases that say something vile a group does; the group is their subject.
NEGATIVE_VERBS = _terms(
    "stink, smell bad, ruin everything, ruin, ruining, ruined, destroy everything, infest,"
    "infesting, breed like, pollute, polluting, invade, invading, scrounge, scrounging,"
    "leech off, sponge off, spread disease, spread diseases, are taking over, take over,"
    "steal our jobs, take our jobs, cannot be trusted, can't be trusted, can never be trusted,"
    "should be ashamed, ought to be ashamed, are all the same, belong in a zoo,"
    "belong in cages, belong in a cage, belong in the kitchen, should stay in the kitchen,"
    "are killing our country, are destroying our country,"
    "are ruining our country, are replacing us, contaminate, corrupt our, groom,"
    "grooming, prey on, brainwash"
)

#: Expressions of hatred; the group is their object ("I despise ...").
HATRED = _terms(
    "hate, hates, hated, hating, h8, despise, despises, despised, loathe, loathes, loathed,"
    "detest, detests, detested, abhor, abhors, pissed off by, pissed off with, fed up of,"
    "angry at, furious with, furious at, can't stand, cannot stand, can not stand,"
    "can't bear, sick of, sick and tired of, tired of, fed up with, disgusted by,"
    "disgusted with, repulsed by, revolted by, no love for, no time for, dislike, dislikes,"
    "don't like, do not like, doesn't like, does not like, never liked, fuck, fuck all,"
    "fuck every, fuck those, fuck these, fuck the, screw, to hell with, down with, damn all,"
    "have no respect for, got no respect for, no respect for, contempt for, hatred for,"
    "never trust, don't trust, do not trust, can't trust, cannot trust"
)

#: Expressions of hatred whose subject is the group ("... make me sick").
HATRED_AFTER = _terms(
    "make me sick, makes me sick, make me want to vomit, make me want to puke,"
    "make my skin crawl, makes my skin crawl, disgust me, disgusts me, repulse me,"
    "repulses me, can go to hell, can rot in hell, should rot in hell, should burn in hell,"
    "will burn in hell, are dead to me, piss me off, pisses me off, pissing me off, fuck off,"
    "go fuck themselves, go fuck yourself, go fuck yourselves, make my blood boil,"
    "makes my blood boil, boil with anger, shut the fuck up, get the fuck out,"
    "get the hell out, fuck off back"
)

#: Emotion adjectives of the speaker, linked to a group only through "make me" ("... make
#: me so angry"); "women are angry" says nothing hateful.
ANGER = _terms("angry, furious, livid, enraged, rage, anger, fury, nauseous")

#: Verbs that make the speaker feel something about their subject.
CAUSE_ME = _terms("make me, makes me, made me, making me, fill me with, fills me with")

#: Nouns of hatred, when the speaker owns them ("the contempt I feel for ...").
FEELINGS = _terms(
    "contempt for, hatred for, hatred of, hate for, scorn for, disdain for, disgust for,"
    "loathing for, contempt, hatred, scorn, disdain, loathing, revulsion"
)

#: Violent verbs aimed at the group (after the verb); need intent or an imperative.
THREAT_VERBS = _terms(
    "kill, murder, shoot, hang, lynch, exterminate, slaughter, massacre, butcher, stab, burn,"
    "gas, bomb, behead, execute, eradicate, eliminate, annihilate, destroy, beat, hurt, harm,"
    "attack, torture, rape, strangle, drown, punch, kick, smash, poison, hunt, crush, purge,"
    "wipe out, get rid of, put down, round up, string up, line up and shoot, beat up,"
    "run over, blow up, set fire to, kill off, shoot down, stab to death, beat to death,"
    "killing, murdering, shooting, hanging, lynching, exterminating, slaughtering, massacring,"
    "butchering, stabbing, burning, gassing, bombing, beheading, executing, eradicating,"
    "eliminating, annihilating, destroying, beating, hurting, harming, attacking, torturing,"
    "raping, strangling, drowning, punching, kicking, poisoning, hunting, wiping out,"
    "getting rid of, cut their, slit their, snap their, break their, cut the throats of,"
    "put an end to, killed, murdered, shot, hanged, lynched, exterminated, slaughtered,"
    "massacred, stabbed, gassed, executed, wiped out, got rid of, drowned, burned,"
    "slit the throats of, snap the necks of, break the necks of, end the lives of"
)

#: Participles and verbs of death whose subject is the group ("... should be shot").
THREAT_AFTER = _terms(
    "killed, murdered, shot, hanged, hung, lynched, exterminated, slaughtered, massacred,"
    "butchered, stabbed, burned, burnt, gassed, bombed, beheaded, executed, eradicated,"
    "eliminated, annihilated, destroyed, beaten, hurt, harmed, attacked, tortured, raped,"
    "strangled, drowned, punched, kicked, poisoned, hunted, crushed, purged, die, perish,"
    "suffer, burn, hang, rot, disappear, dead, wiped out, put down, rounded up, strung up,"
    "lined up and shot, killed off, put to death, beaten to death, burned alive,"
    "have their throats cut, had their throats cut, have their necks snapped"
)

#: Threats that name the violence as a noun ("death to ...").
THREAT_NOUNS = _terms(
    "death to, a bullet for, bullets for, genocide, ethnic cleansing, final solution,"
    "gas chambers, gas chamber, the ovens, deserve death, deserves death, deserve a bullet,"
    "the rope, a noose for, better off without, be better off without"
)

#: Words of intent that turn a violent verb into a threat ("I will ...").
INTENT = _terms(
    "will, shall, 'll, gonna, going to, would love to, would like to, can't wait to, plan to,"
    "intend to, about to, would, i'll, we'll, i'd, we'd, i'm going to, we're going to,"
    "i am going to, we are going to, ready to, start, begin"
)

#: Words of wish or obligation: with them a group's death or removal is called for
#: ("... should die", "I want ... dead"); "will" alone only predicts.
WISHES = _terms(
    "should, must, need to, needs to, have to, has to, ought to, deserve to, deserves to,"
    "deserve, deserves, better, gotta, want, want to, wanna, hope, wish, time to, let's,"
    "lets, let us, someone should, somebody should, someone needs to, should all, must all,"
    "can all, should just, may they, pray, why don't we, why not, why can't we, we need to,"
    "in everyone's interest to, in everybody's interest to, the only solution is to, best to,"
    "what if we, what if someone, if only, in a just world, in an ideal world,"
    "in a perfect world, in a better world, how about we"
)

#: Calls to drive a group out; need intent or an imperative ("... should be deported").
EXCLUSION = _terms(
    "deport, deported, deporting, expel, expelled, ban, banned, segregate, segregated,"
    "sterilise, sterilised, sterilize, sterilized, imprison, imprisoned, go back, go home,"
    "send back, send them back, sent back, kick out, kicked out, kick them out, throw out,"
    "thrown out, keep out, kept out, lock up, locked up, get out of, get out,"
    "leave our country, be removed, removed, caged, locked away, put in camps"
)

#: Calls to leave that carry their own target: said to anyone, they are about origin.
EXCLUSION_ADDRESSED = _terms(
    "go back to your country, go back to your own country, go back where you came from,"
    "go back to where you came from, go home to your country, go back to your shithole"
)

#: Exclusion stated outright ("... have no place here").
EXCLUSION_STATED = _terms(
    "have no place, has no place, no place for, have no business, do not belong,"
    "don't belong, doesn't belong, does not belong, not welcome here, are not welcome,"
    "aren't welcome"
)

#: Praise: linked to a group it lowers the score; negated it is derogation.
POSITIVE = _terms(
    "matter, attractive, pretty, intelligent, smart, clever, capable, competent, honest, kind,"
    "good, great, wonderful, "
    "amazing, lovely, beautiful, brilliant, awesome, fantastic, talented, strong, brave,"
    "inspiring, important, valuable, valued, worthy, worth, trustworthy, trusted, reliable,"
    "decent, normal, natural, valid, equal, equals, loved, respected, useful, deserving,"
    "hardworking, peaceful, clean, civilised, civilized, worth anything, deserve respect,"
    "deserve rights, deserve equal rights, the best, heroes, an asset, a gift, a blessing,"
    "part of our society, our neighbours, our friends, value, dignity, rights"
)

#: Praise whose negation denies humanity, a place or life ("not human", "not welcome").
POSITIVE_HUMAN = _terms("human, humans, human beings, people too, real people, persons")
POSITIVE_PLACE = _terms("welcome, welcomed, allowed, belong, belong here, accepted")
POSITIVE_LIFE = _terms("live, exist, be alive, breathe, deserve to live, have children, vote")

#: Verbs of affection or respect; the group is their object.
POSITIVE_VERBS = _terms(
    "love, loves, adore, adores, respect, respects, admire, admires, support, supports,"
    "appreciate, appreciates, welcome, welcomes, celebrate, celebrates, trust, trusts,"
    "accept, accepts, value, values, cherish, likes, i like, we like, i really like,"
    "stand with, proud of, stand up for"
)

#: Negators. Idioms that contain one but negate nothing are in NON_NEGATING.
NEGATORS = _terms(
    "not, no, never, nobody, none, nothing, neither, nor, noone, no one, without, hardly,"
    "cannot, can't, don't, doesn't, didn't, isn't, aren't, wasn't, weren't, won't, wouldn't,"
    "couldn't, shouldn't, mustn't, haven't, hasn't, ain't, nowhere, stop, stopped, quit,"
    "refuse to, shouldn't be, anti, no right, have no right to, has no right to, no right to,"
    "wrong to, unacceptable to, shameful to, not okay to, not ok to, immoral to, false that,"
    "untrue that, not true that, a myth that, a lie that, nonsense that"
)

#: Idioms that contain a negator (or a slur's homonym) and are neither negation nor abuse.
NON_NEGATING = _terms(
    "nothing but, nothing more than, no more than, no better than, no different from,"
    "no different than, not only, not just, no wonder, no doubt, no surprise,"
    "not surprising, not even, if not, no matter, not a single, good for nothing, no one else,"
    "nobody else, nothing else, no other, don't forget, do not forget, never forget,"
    "don't you think, don't get me wrong, make no mistake, not gonna lie, no question,"
    "no denying, not to mention, not surprised, no secret, never been clearer, son of a bitch,"
    "sons of bitches, life's a bitch, bitch about, bitching about, without a doubt,"
    "without question, without exception, can't help but, cannot help but,"
    "can't help themselves but, cannot help themselves but"
)

#: Verbs and nouns that report what someone else said or thinks.
REPORTING = _terms(
    "say, says, said, saying, call, calls, called, calling, claim, claims, claimed, claiming,"
    "think, thinks, thought, believe, believes, believed, suggest, suggests, suggesting,"
    "tweet, tweeted, tweets, post, posted, posts, wrote, write, writes, writing, shout,"
    "shouted, yell, yelled, describe, describes, describing, label, labelling, labeling,"
    "statement, statements, comment, comments, remark, remarks, joke, jokes, slogan, slogans,"
    "sign, signs, idea, notion, view, views, phrases, words, word, term, slur, quote, quotes,"
    "quoted, insist, insists, argue, argues, argued, imply, implies, implying, spreading,"
    "chant, chanted, chanting, people who, those who, anyone who, anybody who, someone who,"
    "the claim, the belief, opinions like, tell me, told me, told us, message, messages,"
    "treat, treats, treated, treating, wishing, threats, threat, threatening, things like,"
    "tweets like, stuff like, portray, portrays, depict, depicts, refer to, refers to, tell,"
    "tells, telling,"
    "referring to, see them as, sees them as"
)

#: Condemnation of what was said: with a report or a quotation, the text is counter-speech.
CONDEMNATION = _terms(
    "wrong, unacceptable, hateful, bigoted, bigotry, bigot, bigots, racist, racism, sexist,"
    "sexism, homophobic, homophobia, transphobic, transphobia, ableist, ableism,"
    "islamophobic, islamophobia, antisemitic, antisemitism, xenophobic, xenophobia,"
    "misogynistic, misogyny, misogynist, offensive, vile, appalling, awful, horrible,"
    "terrible, shameful, ashamed, disgusting, disgraceful, gross, sick, ignorant, nonsense,"
    "lies, lie, false, untrue, dehumanising, dehumanizing, harmful, hurtful, idiot, idiots,"
    "moron, morons, stupid, dumb, pathetic, cruel, outrageous, inexcusable, unforgivable,"
    "intolerable, upsetting, shocking, prejudice, prejudiced, hate speech, bullshit,"
    "rubbish, not ok, not okay, not acceptable, not cool, how dare, how can, how could,"
    "can't believe, cannot believe, shut up, disagree, reported, report,"
    "condemn, condemns, denounce, reject, stand against, speak out, call out, ridiculous,"
    "absurd, sad, sickening, horrifying, awful thing, bad, jail, prison, arrested, punished,"
    "has to stop, must stop, needs to stop, call out, calling out, not on, banned, blocked,"
    "suspended, kicked off, get you banned, obvious hate, hate like, no respect for people,"
    "why would you, can't seriously, cannot seriously, how is it okay, how is that okay"
)

#: First-person words: with a reclaimable slur they mark in-group, reclaimed use.
SELF = _terms("i, i'm, im, i am, we, we're, us, our, ourselves, myself, my, fellow, proud")

#: Self-identification before a slur: "I'm a ...", "proud to be a ...", "us ...".
SELF_IDENTIFICATION = _terms(
    "i'm, im, i am, i'm a, im a, i am a, being, being a, proud to be, proud to be a, as a,"
    "we're, we are, we, us, my fellow, fellow, call myself, call myself a, call ourselves, my,"
    "all my, my fellow"
)

#: Words before a homonym of a slur that show it is aimed at a person ("you ...").
PERSON_FRAME = _terms(
    "you, ur, u, you're, youre, ya, those, these, them, all, dirty, filthy, fucking, fuckin,"
    "bloody, damn, stupid, dumb, little, typical, like, bunch of, such, what, fat, ugly, lazy,"
    "disgusting, another, common, nothing but, just another, only, too many"
)

#: Swearing that adds force but names no target; before a group it is contempt.
PROFANITY = _terms(
    "fucking, fuckin, fking, fkn, effing, bloody, damn, damned, goddamn, goddamned, shitty,"
    "filthy, dirty, stinking, disgusting"
)

#: Subjects that make a hate verb someone else's ("people hate ...", "she hates ...").
OTHER_SUBJECTS = _terms(
    "he, she, people, someone, somebody, everyone, everybody, anyone, anybody, many, some,"
    "who, that, you, they, folks, person, man, guy, men, he'd, she'd, you'd, they'd, who'd"
)

#: Words across which a predicate does not reach a group ("I hate it when women ...").
BARRIERS = _terms(
    "when, whenever, how, why, where, whether, if, unless, until, because, since, about,"
    "which, who, whom, whose, while, what, it, than, after, before, except"
)

#: Prepositions: a group after one is not the subject ("violence against women is ...").
PREPOSITIONS = _terms(
    "for, to, from, with, by, against, towards, toward, at, on, over, among, between, into,"
    "onto, upon, under, about, around, through, without, within"
)

#: Verbs that open a clause whose subject is the group named just before it
#: ("Women, in my view, are ...").
CLAUSE_VERBS = _terms(
    "are, is, were, was, be, should, must, will, would, deserve, deserves, need, needs,"
    "make, makes, have, has, can, cannot, can't, don't, do, ought to"
)

#: Words that end a clause even without punctuation.
CLAUSE_BREAKS = _terms(
    "but, although, though, however, whereas, yet, because, unless, so that, so we, so they,"
    "so i, so you, that's why, which is why, and that's why"
)

#: Verbs that link a subject to what is said of it.
COPULAS = _terms(
    "are, is, am, was, were, be, being, been, 're, 's, seem, seems, look, looks, act, acts,"
    "become, remain, are all, is just, 're all, to be, r"
)

#: Words that may stand between a group and what is said of it without breaking the link:
#: determiners, quantifiers, intensifiers ("all those fucking ...", "are just so ...").
GLUE = _terms(
    "a, an, the, all, those, these, such, every, each, any, most, many, some, both, whole,"
    "entire, so, very, really, truly, just, simply, basically, literally, totally,"
    "completely, utterly, absolutely, extremely, incredibly, pretty, quite, too, always,"
    "often, generally, usually, naturally, inherently, genuinely, seriously, still, also,"
    "even, only, more, most, less, least, single, like, as, do, does, did, definitely,"
    "certainly, clearly, obviously, actually, frankly, honestly, disgustingly, fucking,"
    "fuckin, fking, bloody, damn, damned, goddamn, one of, all of, each of, most of, some of,"
    "many of, every one of, every single one of, bunch of, a bunch of, lot of, a lot of,"
    "lots of, kind of, sort of, no better than, nothing but, nothing more than, no more than,"
    "no different from, no different than, the same as, equivalent to, compared to,"
    "no better than, little more than, just like, nothing short of, of them, these days,"
    "nowadays, today, here, there, now, ever, forever, filthy, dirty, stinking, disgusting,"
    "worthless, stupid, lazy, ugly, evil, subhuman, useless, vile, goddamned, effing,"
    "absolute, complete, total, utter, real, next, other, much, can, could, may, might,"
    "that, you, and, our, your, their, my, his, her, i feel for, i have for, i feel towards,"
    "i have towards, i feel, i have, i've got for, any, ever, yet, kinds of, types of, type of,"
    "massive, huge, common, last, every last one of, being around, being near, dealing with,"
    "seeing, looking at, hearing about, hearing from, living with, living near, working with,"
    "sharing"
)
