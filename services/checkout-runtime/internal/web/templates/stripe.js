(function(){"use strict";
// Card payment through the site's Stripe account: Stripe's Payment Element
// in deferred-intent mode. The browser makes a ConfirmationToken; our server
// creates and confirms the PaymentIntent (manual capture). No card data is
// ever in our form.
var d=document,$=function(i){return d.getElementById(i)},el=$("payment-element"),f=$("pay-form");
if(!el||!f)return;
var msg=$("stripe-error"),pay=$("pay-button"),busy=false;
function show(t){msg.textContent=t;msg.hidden=false}
function isCard(){var m=f.querySelector("input[name=method]:checked")||f.elements.method;return !m||m.value==="card"}
function isPay(e){var b=e.submitter;return !b||b.value!=="update_total"}
function idle(){busy=false;if(pay){pay.removeAttribute("aria-disabled");pay.disabled=false;pay.textContent=pay.dataset.label.replace("%s",$("total").textContent)}}
if(typeof window.Stripe!=="function"){
// Stripe.js did not load (blocked, offline): say so; other methods still work.
show(el.dataset.unavailable);
f.addEventListener("submit",function(e){if(isCard()&&isPay(e)){e.preventDefault();e.stopImmediatePropagation();show(el.dataset.unavailable)}});
return}
// A checkout that charges nothing today (a free trial) saves the card: the
// server confirms a SetupIntent with the token instead.
var opts=el.dataset.setup?{mode:"setup",paymentMethodTypes:["card"]}:{mode:"payment",amount:Number(el.dataset.amount),captureMethod:"manual"};
opts.currency=el.dataset.currency;opts.locale=el.dataset.locale||"auto";
var stripe=window.Stripe(el.dataset.key),elements=stripe.elements(opts);
elements.create("payment").mount(el);
// The total changes with the billing address's tax: keep the Element's amount
// equal to the PaymentIntent's.
var seq=0;
f.addEventListener("change",function(e){var n=e.target.name;if((n!=="country"&&n!=="region")||!f.dataset.quote||!window.fetch)return;
var k=++seq;fetch(f.dataset.quote+"?country="+encodeURIComponent(f.elements.country.value)+"&region="+encodeURIComponent(f.elements.region.value),
{credentials:"same-origin",headers:{Accept:"application/json"}}).then(function(r){return r.ok?r.json():{}})
.then(function(t){if(k===seq&&t.stripe_amount)elements.update({amount:t.stripe_amount})}).catch(function(){})});
function post(url,body){return fetch(url,{method:"POST",credentials:"same-origin",headers:{Accept:"application/json"},body:body})
.then(function(r){return r.json()})}
function done(r){
if(r.status==="requires_action"){
// 3-D Secure and the like happen in Stripe.js; then the server reads the intent.
return stripe.handleNextAction({clientSecret:r.client_secret}).then(function(){
var b=new URLSearchParams();b.set("csrf_token",f.elements.csrf_token.value);b.set("payment_id",r.payment_id);
return post(el.dataset.resume,b).then(done)})}
if(r.redirect_url){location.assign(r.redirect_url);return}
throw new Error(r.error&&r.error.message||el.dataset.failed)}
f.addEventListener("submit",function(e){
if(!isCard()||!isPay(e))return;
e.preventDefault();e.stopImmediatePropagation();
if(busy)return;busy=true;msg.hidden=true;
if(pay){pay.setAttribute("aria-disabled","true");pay.textContent=pay.dataset.busy}
elements.submit().then(function(r){if(r.error)throw r.error;return stripe.createConfirmationToken({elements:elements})})
.then(function(r){if(r.error)throw r.error;
var b=new URLSearchParams(new FormData(f));b.set("action","pay");b.set("confirmation_token",r.confirmationToken.id);
return post(f.action,b)}).then(done)
.catch(function(err){idle();show(err&&err.message||el.dataset.failed)})});
})();
